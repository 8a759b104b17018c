// Origin detection from /proc/self/cgroup samples of the runtimes Datadog's
// tracers recognise (cgroup v1 and v2).
#include <gtest/gtest.h>

#include "agent/container_id.hpp"

using datadog::agent::cgroup_version_of_filesystem;
using datadog::agent::CgroupVersion;
using datadog::agent::ContainerFacts;
using datadog::agent::find_container_id;
using datadog::agent::identify_container;
using datadog::agent::is_host_cgroup_namespace;

namespace {

constexpr std::string_view docker_id = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";

}  // namespace

TEST(ContainerId, CgroupV1DockerHierarchyGivesTheSixtyFourHexId) {
  const std::string text = "13:name=systemd:/docker/" + std::string(docker_id) + "\n12:pids:/docker/" +
                           std::string(docker_id) + "\n11:hugetlb:/docker/" + std::string(docker_id) +
                           "\n1:cpuset:/docker/" + std::string(docker_id) + "\n";
  EXPECT_EQ(find_container_id(text), docker_id);
}

TEST(ContainerId, CgroupV2SystemdDockerScopeGivesWhatIsBetweenDockerAndScope) {
  EXPECT_EQ(find_container_id("0::/system.slice/docker-abcdef0123456789abcdef0123456789.scope\n"),
            "abcdef0123456789abcdef0123456789");
}

TEST(ContainerId, DockerScopeLineWinsOverAnEarlierHexLine) {
  const std::string text =
      "1:cpu:/docker/" + std::string(docker_id) + "\n0::/system.slice/docker-cafe.scope\n";
  EXPECT_EQ(find_container_id(text), "cafe");
}

TEST(ContainerId, KubernetesPodPathGivesTheContainerAfterThePod) {
  const std::string text = "11:perf_event:/kubepods/besteffort/pod3d274242-8ee0-11e9-a8a6-1e68d864ef1a/" +
                           std::string(docker_id) + "\n";
  EXPECT_EQ(find_container_id(text), docker_id);
}

TEST(ContainerId, KubernetesSystemdScopeWithCrioPrefixEndsInTheId) {
  const std::string text =
      "0::/kubepods.slice/kubepods-burstable.slice/crio-" + std::string(docker_id) + ".scope\n";
  EXPECT_EQ(find_container_id(text), docker_id);
}

TEST(ContainerId, EcsFargateTaskIdWithDigits) {
  EXPECT_EQ(find_container_id("1:name=systemd:/ecs/55091c13-b8cf-4801-b527-f4601742204d/"
                              "432624d2150b349fe35ba397284dea788c2bf66b885d14dfc1569b01890ca7da\n"),
            "432624d2150b349fe35ba397284dea788c2bf66b885d14dfc1569b01890ca7da");
  EXPECT_EQ(find_container_id("1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765-1234567890\n"),
            "34dc0b5e626f2c5c4c5170e34b10e765-1234567890");
}

TEST(ContainerId, UuidWithDashesOrUnderscoresAndFargateShortForm) {
  EXPECT_EQ(find_container_id("1:cpu:/pcf/0f6ed2f0-8a1b-4bbd-7b63-06ed8f9f23ad\n"),
            "0f6ed2f0-8a1b-4bbd-7b63-06ed8f9f23ad");
  EXPECT_EQ(find_container_id("1:cpu:/x/0f6ed2f0_8a1b_4bbd_7b63_06ed8f9f23ad.scope\n"),
            "0f6ed2f0_8a1b_4bbd_7b63_06ed8f9f23ad");
  EXPECT_EQ(find_container_id("1:cpu:/ecs/8cd79a80-3d34-4d1c-b0b1-9d4c\n"), "8cd79a80-3d34-4d1c-b0b1-9d4c");
  // The short form is matched only at the very end, never before `.scope`.
  EXPECT_EQ(find_container_id("1:cpu:/ecs/8cd79a80-3d34-4d1c-b0b1-9d4c.scope\n"), "");
}

TEST(ContainerId, LastLineWithoutNewlineIsRead) {
  EXPECT_EQ(find_container_id("0::/\n1:cpu:/docker/" + std::string(docker_id)), docker_id);
}

TEST(ContainerId, HostAndUncontainedFilesHaveNone) {
  EXPECT_EQ(find_container_id("0::/\n"), "");
  EXPECT_EQ(find_container_id(""), "");
  EXPECT_EQ(find_container_id("0::/user.slice/user-1000.slice/session-3.scope\n"), "");
  // 32 hex digits alone are no container id (a task id needs -<digits>).
  EXPECT_EQ(find_container_id("4:memory:/process_api/7e161ea2e9537b0c6b5c79c008968a14\n0::/\n"), "");
  // Upper-case hex is not an id.
  EXPECT_EQ(find_container_id("1:cpu:/docker/" + std::string(64, 'A') + "\n"), "");
  EXPECT_EQ(find_container_id("0::/system.slice/docker-.scope\n"), "");
}

TEST(ContainerId, FilesystemTypesOfSysFsCgroup) {
  EXPECT_EQ(cgroup_version_of_filesystem(0x01021994), CgroupVersion::v1);   // tmpfs
  EXPECT_EQ(cgroup_version_of_filesystem(0x27e0eb), CgroupVersion::v1);     // cgroup
  EXPECT_EQ(cgroup_version_of_filesystem(0x63677270), CgroupVersion::v2);   // cgroup2
  EXPECT_EQ(cgroup_version_of_filesystem(0xef53), CgroupVersion::unknown);  // ext4
  EXPECT_TRUE(is_host_cgroup_namespace(0xeffffffb));
  EXPECT_FALSE(is_host_cgroup_namespace(0xf0000152));
}

TEST(ContainerIdentity, CgroupV1WithAContainerIdSendsBothHeaders) {
  const std::string text = "1:cpu:/docker/" + std::string(docker_id) + "\n";
  const auto identity = identify_container({CgroupVersion::v1, text, 0xf0000152, 4242});
  EXPECT_EQ(identity.container_id, docker_id);
  EXPECT_EQ(identity.entity_id, "ci-" + std::string(docker_id));
}

TEST(ContainerIdentity, CgroupV2InAPrivateNamespaceSendsTheCgroupInode) {
  const std::string text = "0::/\n";
  const auto identity = identify_container({CgroupVersion::v2, text, 0xf0000152, 4242});
  EXPECT_EQ(identity.container_id, "");
  EXPECT_EQ(identity.entity_id, "in-4242");
}

TEST(ContainerIdentity, CgroupV2NeverReadsAnIdFromTheFile) {
  const std::string text = "0::/system.slice/docker-abc.scope\n";
  EXPECT_EQ(identify_container({CgroupVersion::v2, text, 0xf0000152, 7}).entity_id, "in-7");
}

TEST(ContainerIdentity, CgroupV1WithoutIdFallsBackToTheInode) {
  const std::string text = "4:memory:/\n0::/\n";
  EXPECT_EQ(identify_container({CgroupVersion::v1, text, 0xf0000152, 1}).entity_id, "in-1");
  EXPECT_EQ(identify_container({CgroupVersion::v1, text, std::nullopt, 1}).entity_id, "in-1");
}

TEST(ContainerIdentity, HostNamespaceOrUnknownFilesystemSendsNothing) {
  const std::string text = "0::/\n";
  const auto host = identify_container({CgroupVersion::v2, text, 0xeffffffb, 1});
  EXPECT_EQ(host.container_id, "");
  EXPECT_EQ(host.entity_id, "");
  const std::string docker = "1:cpu:/docker/" + std::string(docker_id) + "\n";
  EXPECT_EQ(identify_container({CgroupVersion::unknown, docker, 0xf0000152, 1}).entity_id, "");
  EXPECT_EQ(identify_container({CgroupVersion::v2, text, 0xf0000152, std::nullopt}).entity_id, "");
}
