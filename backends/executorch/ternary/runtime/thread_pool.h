// The kernel's own pool, for hosts without a pool of their own (the LiteRT
// custom op, the C API). The ExecuTorch delegate runs on ExecuTorch's pool
// instead (ternary_backend.cpp).
//
// One job at a time. Each job names how many workers help (`helpers`); the
// pool starts exactly that many workers the first time, never more, and the
// caller takes a share of the tasks. Between jobs a worker spins for
// kSpinMicros before it sleeps: consecutive Linears of one inference start
// within microseconds of each other, and a futex wake-up costs more than
// that. Workers are never destroyed (no static-destruction races when a host
// process unloads).
//
// Lifetime: the job lives in the pool and the caller returns only after every
// participating worker has checked out, so no worker ever reads a finished
// job. The generation and the helper count share one atomic word, so a worker
// that is not asked to help never touches the job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "ternary_kernel.h"  // TaskFn

namespace dynaedge {
namespace ternary {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class ThreadPool {
 public:
  static constexpr int kSpinMicros = 50;
  static_assert(kMaxThreads < 256, "the helper count lives in signal_'s low 8 bits");

  // Runs fn(ctx, t) for every t in [0, tasks) on the caller and `helpers`
  // workers; returns when all tasks are done and every helper has left.
  void run(size_t tasks, int helpers, TaskFn fn, void* ctx) {
    if (helpers < 1 || tasks < 2) {
      for (size_t t = 0; t < tasks; ++t) fn(ctx, t);
      return;
    }
    std::lock_guard<std::mutex> one_job(run_mu_);  // concurrent callers take turns
    start_workers(helpers);
    fn_ = fn;
    ctx_ = ctx;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(helpers, std::memory_order_relaxed);
    // Publishes the fields above; seq_cst pairs with the sleepers_ check (see wait_for_job).
    signal_.store(((signal_.load() >> 8) + 1) << 8 | static_cast<uint64_t>(helpers));
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    work();
    for (unsigned spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < (1u << 16)) {
        cpu_relax();
      } else {
        std::this_thread::yield();  // a helper was descheduled: do not burn its core
      }
    }
  }

 private:
  void work() {
    for (size_t t = next_.fetch_add(1, std::memory_order_relaxed); t < tasks_;
         t = next_.fetch_add(1, std::memory_order_relaxed)) {
      fn_(ctx_, t);
    }
  }

  void start_workers(int helpers) {
    while (started_ < helpers) {
      const int index = started_++;
      std::thread([this, index] { loop(index); }).detach();
    }
  }

  uint64_t wait_for_job(uint64_t seen) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    for (unsigned spins = 0;; ++spins) {
      const uint64_t s = signal_.load(std::memory_order_acquire);
      if (s != seen) return s;
      cpu_relax();
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1);
    uint64_t s;
    cv_.wait(lock, [&] { return (s = signal_.load()) != seen; });
    sleepers_.fetch_sub(1);
    return s;
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      seen = wait_for_job(seen);
      if (index < static_cast<int>(seen & 0xff)) {
        work();
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::mutex run_mu_;
  int started_ = 0;  // guarded by run_mu_
  // The job, written by run() before signal_ is bumped.
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<int> pending_{0};  // helpers not yet checked out
  std::atomic<uint64_t> signal_{0};  // generation << 8 | helpers
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace ternary
}  // namespace dynaedge
