// A SQLite VFS that is the platform's default one, except that a thread that asked for it
// gives up the CPU (sched_yield) after each page it writes.
//
// Why: joeyd's usage writer commits proxy rows in batches, and every 256 WAL pages a
// commit also checkpoints them into the database — hundreds of page reads and writes in
// one call, milliseconds of CPU. On a core that an I/O thread shares, the kernel need not
// preempt a busy thread when a socket wakes the I/O thread (measured on the benchmark
// machine: a checkpoint delayed proxied answers by as long as it ran, whatever the
// writer's nice level or policy). Yielding after each page lets a waiting I/O thread in;
// when nothing waits, a yield returns at once (well under a microsecond beside a 4 KiB
// write). Reads, locks, syncs and the shared-memory index are untouched.
//
// Only a thread that opted in yields (set_page_write_yields), and as often as it asked:
// after every page until a deadline, after every `pages_per_yield` pages from then on. A
// thread that yields after every page gets about one page per scheduler slice while its
// core is saturated, and would hold the database's one write lock for seconds: the
// deadline bounds that (the proxy's usage writer gives each transaction 5 ms).
//
// Thread-safety: yielding_vfs_name() registers the VFS once, on first use, from any
// thread; the VFS itself is as thread-safe as the one it wraps.
#pragma once

#include <chrono>

namespace joey::store::detail {

// The VFS's name for sqlite3_open_v2, or nullptr (SQLite's default) when registering
// it failed.
const char* yielding_vfs_name();

// Page writes that yielded since the process started (for tests).
unsigned long long yielding_vfs_yields();

}  // namespace joey::store::detail

namespace joey::store {

// The calling thread's SQLite page writes yield: each one until `one_by_one_until`, then
// every `pages_per_yield`-th. pages_per_yield 0 (the default) turns yielding off.
void set_page_write_yields(unsigned pages_per_yield,
                           std::chrono::steady_clock::time_point one_by_one_until = {});

}  // namespace joey::store
