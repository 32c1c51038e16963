/// An event loop can run Swift tasks (SE-0417): a task started with the loop
/// as its executor preference runs its jobs on the loop's thread between I/O
/// rounds, instead of on the global concurrency pool.
extension EventLoop: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        schedule(.task(UnownedJob(job)))
    }
}
