// A tiny persistent thread pool for splitting the GEMM across output panels.
// Workers are created once and never destroyed (no static-destruction races
// when a host process unloads); a job lives in a shared_ptr, so a worker that
// wakes late for a finished job finds no task left and never touches the
// caller's stack.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dynaedge {
namespace ternary {

class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this, i] { loop(i); }).detach();
    workers_ = workers;
  }

  int threads() const { return workers_ + 1; }  // the caller works too

  // Runs fn(t) for every t in [0, tasks) on the caller and up to `helpers`
  // workers; returns when all are done.
  void run(size_t tasks, int helpers, const std::function<void(size_t)>& fn) {
    if (tasks == 0) return;
    auto job = std::make_shared<Job>();
    job->fn = fn;
    job->tasks = tasks;
    job->helpers = helpers;
    if (workers_ > 0 && helpers > 0 && tasks > 1) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = job;
      }
      cv_.notify_all();
    }
    work(*job);
    std::unique_lock<std::mutex> lock(job->mu);
    job->cv.wait(lock, [&] { return job->done.load() == job->tasks; });
  }

 private:
  struct Job {
    std::function<void(size_t)> fn;
    size_t tasks = 0;
    int helpers = 0;
    std::atomic<size_t> next{0};
    std::atomic<size_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
  };

  static void work(Job& job) {
    for (size_t t = job.next.fetch_add(1); t < job.tasks; t = job.next.fetch_add(1)) {
      job.fn(t);
      if (job.done.fetch_add(1) + 1 == job.tasks) {
        std::lock_guard<std::mutex> lock(job.mu);
        job.cv.notify_all();
      }
    }
  }

  void loop(int index) {
    std::shared_ptr<Job> seen;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return current_ != seen; });
        job = current_;
        seen = job;
      }
      if (index < job->helpers) work(*job);
    }
  }

  int workers_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Job> current_;
};

}  // namespace ternary
}  // namespace dynaedge
