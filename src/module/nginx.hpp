// The one place nginx's C headers enter the C++ code: everything in src/module/
// includes this instead of the nginx headers directly.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}
