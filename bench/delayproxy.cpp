// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// delayproxy: a TCP proxy that adds a fixed one-way delay in each direction, to measure uploads over
// a long round trip on loopback (this kernel has no sch_netem). 5 ms each way = 10 ms RTT.
//
//   delayproxy LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS [CAP_BYTES]
//
// Every chunk read from one side is held until DELAY_MS after it arrived, then written to the other
// side. At most CAP_BYTES (default 8 MiB) are held per direction, like a bounded TCP window. One
// thread pair per direction per connection; meant for benchmarks, not for production.
//
// Built by bench/sftp.sh (g++ -O2 -pthread); not part of the CMake build.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Chunk {
  SteadyClock::time_point due;
  std::vector<char> data;  // empty: the sender closed its side
};

// One direction of one connection: chunks read and not yet delivered.
struct Pipe {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> queue;
  size_t held = 0;  // bytes in queue
};

std::chrono::milliseconds g_delay;
size_t g_cap;

void read_side(int from, Pipe& pipe) {
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = read(from, buf.data(), buf.size());
    std::unique_lock<std::mutex> lock(pipe.mu);
    if (n <= 0) {
      pipe.queue.push_back({SteadyClock::now() + g_delay, {}});
      pipe.cv.notify_all();
      return;
    }
    pipe.cv.wait(lock, [&] { return pipe.held < g_cap; });
    pipe.queue.push_back({SteadyClock::now() + g_delay, std::vector<char>(buf.begin(), buf.begin() + n)});
    pipe.held += static_cast<size_t>(n);
    pipe.cv.notify_all();
  }
}

void write_side(int to, Pipe& pipe) {
  for (;;) {
    Chunk chunk;
    {
      std::unique_lock<std::mutex> lock(pipe.mu);
      pipe.cv.wait(lock, [&] { return !pipe.queue.empty(); });
      chunk = std::move(pipe.queue.front());
      pipe.queue.pop_front();
    }
    std::this_thread::sleep_until(chunk.due);
    if (chunk.data.empty()) {
      shutdown(to, SHUT_WR);
      return;
    }
    for (size_t off = 0; off < chunk.data.size();) {
      ssize_t w = write(to, chunk.data.data() + off, chunk.data.size() - off);
      if (w <= 0) {
        shutdown(to, SHUT_RDWR);  // the reader side then sees the end too
        return;
      }
      off += static_cast<size_t>(w);
    }
    {
      std::lock_guard<std::mutex> lock(pipe.mu);
      pipe.held -= chunk.data.size();
    }
    pipe.cv.notify_all();
  }
}

void serve(int client, sockaddr_in target) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
    perror("delayproxy: connect");
    close(client);
    close(server);
    return;
  }
  int one = 1;
  setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Pipe up, down;
  std::thread t1(read_side, client, std::ref(up)), t2(write_side, server, std::ref(up));
  std::thread t3(read_side, server, std::ref(down)), t4(write_side, client, std::ref(down));
  t1.join();
  t2.join();
  t3.join();
  t4.join();
  close(client);
  close(server);
}

bool parse_address(const char* addr, const char* port, sockaddr_in& out) {
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  return inet_pton(AF_INET, addr, &out.sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: delayproxy LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS [CAP_BYTES]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  g_delay = std::chrono::milliseconds(std::atoi(argv[5]));
  g_cap = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : (8u << 20);
  sockaddr_in listen_at, target;
  if (!parse_address(argv[1], argv[2], listen_at) || !parse_address(argv[3], argv[4], target)) {
    std::fprintf(stderr, "delayproxy: addresses must be IPv4 literals\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, reinterpret_cast<sockaddr*>(&listen_at), sizeof listen_at) != 0 || listen(listener, 16) != 0) {
    perror("delayproxy: bind/listen");
    return 1;
  }
  for (;;) {
    int client = accept(listener, nullptr, nullptr);
    if (client >= 0) std::thread(serve, client, target).detach();
  }
}
