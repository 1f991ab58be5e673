// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP v3 packet parser and builder (jobs/sftp_protocol.h): what a broken or hostile server
// sends must be refused, never read beyond the packet or allocated blindly.
#define BOOST_TEST_MODULE jobs_sftp_protocol
#include <boost/test/unit_test.hpp>

#include <string>

#include "jobs/sftp_client.h"
#include "jobs/sftp_protocol.h"

using namespace flis::sftp;

namespace {

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string str(const std::string& s) { return u32(static_cast<uint32_t>(s.size())) + s; }
std::string head(uint8_t type, uint32_t id) { return std::string(1, static_cast<char>(type)) + u32(id); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_status_reply_gives_code_and_message) {
  auto r = parse_reply(head(FXP_STATUS, 7) + u32(FX_PERMISSION_DENIED) + str("Permission denied") + str("en"));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  BOOST_TEST(r->id == 7u);
  BOOST_TEST(r->code == FX_PERMISSION_DENIED);
  BOOST_TEST(r->message == "Permission denied");
  BOOST_TEST(status_name(r->code) == "SSH_FX_PERMISSION_DENIED");
}

BOOST_AUTO_TEST_CASE(a_status_without_message_is_accepted_as_older_servers_send_it) {
  auto r = parse_reply(head(FXP_STATUS, 1) + u32(FX_OK));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->message.empty());
}

BOOST_AUTO_TEST_CASE(a_string_longer_than_the_packet_is_refused) {
  auto r = parse_reply(head(FXP_HANDLE, 1) + u32(0xFFFFFFF0) + "abc");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("truncated handle") != std::string::npos);
  BOOST_TEST(!parse_reply(head(FXP_DATA, 1) + u32(10) + "short").ok());
  BOOST_TEST(!parse_reply(head(FXP_STATUS, 1) + u32(0) + u32(100) + "x").ok());
}

BOOST_AUTO_TEST_CASE(a_packet_shorter_than_its_header_is_refused) {
  BOOST_TEST(!parse_reply("").ok());
  BOOST_TEST(!parse_reply(std::string(1, static_cast<char>(FXP_STATUS)) + std::string(2, '\0')).ok());
  BOOST_TEST(!parse_reply(head(FXP_STATUS, 1)).ok());
}

BOOST_AUTO_TEST_CASE(a_name_count_beyond_the_packet_is_refused_without_allocating) {
  auto r = parse_reply(head(FXP_NAME, 1) + u32(0x7FFFFFFF) + str("a") + str("b") + u32(0));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("more names") != std::string::npos);
  auto ok = parse_reply(head(FXP_NAME, 1) + u32(1) + str("a") + str("-rw a") + u32(0));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->names.size() == 1u);
}

BOOST_AUTO_TEST_CASE(attributes_are_read_by_their_flags) {
  std::string attrs = u32(0x1 | 0x4) + u32(0) + u32(1000) + u32(0040755);
  auto r = parse_reply(head(FXP_ATTRS, 3) + attrs);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->attrs.size.value_or(0) == 1000u);
  BOOST_TEST(r->attrs.is_directory());
  BOOST_TEST(!r->attrs.is_regular());
  BOOST_TEST(!parse_reply(head(FXP_ATTRS, 3) + u32(0x1) + u32(0)).ok());  // size cut short
  // Extended attribute pairs must each be there.
  BOOST_TEST(!parse_reply(head(FXP_ATTRS, 3) + u32(0x80000000) + u32(1000000)).ok());
}

BOOST_AUTO_TEST_CASE(an_unexpected_packet_type_is_refused) {
  BOOST_TEST(!parse_reply(head(FXP_OPEN, 1) + str("x")).ok());
}

BOOST_AUTO_TEST_CASE(frame_lengths_are_checked_before_anything_is_buffered) {
  BOOST_TEST(!frame_length("\0\0\0").value().has_value());  // not enough bytes yet
  BOOST_TEST(frame_length(u32(5) + "x").value().value() == 5u);
  BOOST_TEST(!frame_length(u32(0)).ok());
  BOOST_TEST(!frame_length(u32(kMaxPacket + 1)).ok());
  BOOST_TEST(frame_length(u32(kMaxPacket)).ok());
}

BOOST_AUTO_TEST_CASE(version_lists_the_extensions_the_server_announced) {
  auto v = parse_version(std::string(1, static_cast<char>(FXP_VERSION)) + u32(3) + str("posix-rename@openssh.com") +
                         str("1") + str("limits@openssh.com") + str("1"));
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->version == 3u);
  BOOST_TEST(v->has("posix-rename@openssh.com"));
  BOOST_TEST(v->has("limits@openssh.com"));
  BOOST_TEST(!v->has("fsync@openssh.com"));
  BOOST_TEST(!parse_version(std::string(1, static_cast<char>(FXP_VERSION)) + u32(3) + str("half")).ok());
  BOOST_TEST(!parse_version(head(FXP_STATUS, 3)).ok());
}

BOOST_AUTO_TEST_CASE(limits_are_four_numbers) {
  std::string eight = u32(0) + u32(262144);
  auto l = parse_limits(eight + eight + u32(0) + u32(261120) + u32(0) + u32(1024));
  BOOST_REQUIRE(l.ok());
  BOOST_TEST(l->max_write_length == 261120u);
  BOOST_TEST(l->max_open_handles == 1024u);
  BOOST_TEST(!parse_limits(eight).ok());
}

BOOST_AUTO_TEST_CASE(a_built_request_has_its_length_in_front) {
  std::string p = PacketBuilder(FXP_OPEN, 9).str("/a").u32(FXF_WRITE | FXF_CREAT).attrs_permissions(0640).finish();
  BOOST_TEST(p.substr(0, 4) == u32(static_cast<uint32_t>(p.size() - 4)));
  BOOST_TEST(p.substr(4) == head(FXP_OPEN, 9) + str("/a") + u32(0x0A) + u32(0x4) + u32(0640));
}

BOOST_AUTO_TEST_CASE(a_write_header_frames_the_data_that_follows) {
  std::string handle = "h1";
  std::string packet(write_header_size(handle.size()), '\0');
  encode_write_header(packet.data(), 5, handle, (uint64_t{1} << 32) + 2, 3);
  packet += "abc";
  std::string expected = head(FXP_WRITE, 5) + str("h1") + u32(1) + u32(2) + str("abc");
  BOOST_TEST(packet == u32(static_cast<uint32_t>(expected.size())) + expected);
}

// The WRITE pipeline holds about one round trip at 200 MB/s: a short one keeps 256 KiB in flight
// (a deeper queue on loopback only makes sshd buffer it, at a cost), a long one up to the maximum.
BOOST_AUTO_TEST_CASE(the_write_pipeline_is_sized_to_the_round_trip) {
  using us = std::chrono::microseconds;
  BOOST_TEST(flis::write_pipeline_depth(us(0), 32768, 64) == 64u);       // nothing measured yet
  BOOST_TEST(flis::write_pipeline_depth(us(150), 32768, 64) == 9u);      // loopback: 256 KiB
  BOOST_TEST(flis::write_pipeline_depth(us(2000), 32768, 64) == 13u);    // 400 KB
  BOOST_TEST(flis::write_pipeline_depth(us(10000), 32768, 64) == 62u);   // 2 MB
  BOOST_TEST(flis::write_pipeline_depth(us(50000), 32768, 64) == 64u);   // never past the maximum
  BOOST_TEST(flis::write_pipeline_depth(us(150), 4096, 64) == 64u);      // small writes: more of them
  BOOST_TEST(flis::write_pipeline_depth(us(150), 32768, 4) == 4u);
}
