// A std::pmr memory resource over an nginx pool: what the plain-C++ cores
// allocate per request lands in the request pool and is freed with it.
#pragma once

#include <memory_resource>

#include "module/nginx.hpp"

namespace datadog::module {

class PoolResource final : public std::pmr::memory_resource {
 public:
  explicit PoolResource(ngx_pool_t* pool) noexcept : pool_(pool) {}

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    void* memory =
        alignment <= NGX_ALIGNMENT ? ngx_palloc(pool_, bytes) : ngx_pmemalign(pool_, bytes, alignment);
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
  }
  // Pool memory is released with the pool.
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  ngx_pool_t* pool_;
};

}  // namespace datadog::module
