#include "store/yielding_vfs.h"

#include <sched.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <mutex>

namespace joey::store::detail {
namespace {

// Writes this large or larger are pages (WAL frames and checkpointed pages); a WAL
// frame's 24-byte header, the WAL header and the like are not worth a yield.
constexpr int kPageWriteBytes = 512;

sqlite3_vfs* g_real = nullptr;  // set once, before g_vfs is registered
sqlite3_vfs g_vfs{};
std::atomic<unsigned long long> g_yields{0};
thread_local unsigned t_yield_every = 0;  // page writes per yield; 0: never
thread_local unsigned t_unyielded = 0;    // page writes since the last yield
thread_local std::chrono::steady_clock::time_point t_one_by_one_until;

// Our file is the outer sqlite3_file; the real VFS's file follows it in the same block.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* real(sqlite3_file* file) { return reinterpret_cast<File*>(file)->real; }
const sqlite3_io_methods& methods(sqlite3_file* file) { return *real(file)->pMethods; }

int file_close(sqlite3_file* file) { return methods(file).xClose(real(file)); }
int file_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return methods(file).xRead(real(file), buffer, amount, offset);
}
int file_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  const int code = methods(file).xWrite(real(file), buffer, amount, offset);
  if (t_yield_every != 0 && amount >= kPageWriteBytes &&
      (++t_unyielded >= t_yield_every || std::chrono::steady_clock::now() < t_one_by_one_until)) {
    t_unyielded = 0;
    g_yields.fetch_add(1, std::memory_order_relaxed);
    sched_yield();
  }
  return code;
}
int file_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return methods(file).xTruncate(real(file), size);
}
int file_sync(sqlite3_file* file, int flags) { return methods(file).xSync(real(file), flags); }
int file_size(sqlite3_file* file, sqlite3_int64* size) {
  return methods(file).xFileSize(real(file), size);
}
int file_lock(sqlite3_file* file, int level) { return methods(file).xLock(real(file), level); }
int file_unlock(sqlite3_file* file, int level) { return methods(file).xUnlock(real(file), level); }
int file_check_reserved(sqlite3_file* file, int* out) {
  return methods(file).xCheckReservedLock(real(file), out);
}
int file_control(sqlite3_file* file, int op, void* arg) {
  return methods(file).xFileControl(real(file), op, arg);
}
int file_sector_size(sqlite3_file* file) { return methods(file).xSectorSize(real(file)); }
int file_device_characteristics(sqlite3_file* file) {
  return methods(file).xDeviceCharacteristics(real(file));
}
int file_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return methods(file).xShmMap(real(file), region, size, extend, out);
}
int file_shm_lock(sqlite3_file* file, int offset, int count, int flags) {
  return methods(file).xShmLock(real(file), offset, count, flags);
}
void file_shm_barrier(sqlite3_file* file) { methods(file).xShmBarrier(real(file)); }
int file_shm_unmap(sqlite3_file* file, int delete_flag) {
  return methods(file).xShmUnmap(real(file), delete_flag);
}
int file_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return methods(file).xFetch(real(file), offset, amount, out);
}
int file_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return methods(file).xUnfetch(real(file), offset, page);
}

// One table per version of the real file's methods: a member the real file lacks must
// be absent (null) here too, or SQLite would call through a null pointer.
sqlite3_io_methods make_methods(int version) {
  sqlite3_io_methods table{};
  table.iVersion = version;
  table.xClose = file_close;
  table.xRead = file_read;
  table.xWrite = file_write;
  table.xTruncate = file_truncate;
  table.xSync = file_sync;
  table.xFileSize = file_size;
  table.xLock = file_lock;
  table.xUnlock = file_unlock;
  table.xCheckReservedLock = file_check_reserved;
  table.xFileControl = file_control;
  table.xSectorSize = file_sector_size;
  table.xDeviceCharacteristics = file_device_characteristics;
  if (version >= 2) {
    table.xShmMap = file_shm_map;
    table.xShmLock = file_shm_lock;
    table.xShmBarrier = file_shm_barrier;
    table.xShmUnmap = file_shm_unmap;
  }
  if (version >= 3) {
    table.xFetch = file_fetch;
    table.xUnfetch = file_unfetch;
  }
  return table;
}
const sqlite3_io_methods kMethods[3] = {make_methods(1), make_methods(2), make_methods(3)};

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* self = reinterpret_cast<File*>(file);
  self->base.pMethods = nullptr;
  self->real = reinterpret_cast<sqlite3_file*>(self + 1);
  self->real->pMethods = nullptr;
  const int code = g_real->xOpen(g_real, name, self->real, flags, out_flags);
  const sqlite3_io_methods* inner = self->real->pMethods;
  if (inner != nullptr) {
    // A version past 3 (a newer SQLite) is served as 3: its extra members are not used.
    const int version = inner->iVersion < 1 ? 1 : (inner->iVersion > 3 ? 3 : inner->iVersion);
    self->base.pMethods = &kMethods[version - 1];
  }
  return code;
}

// Everything but opening a file goes to the real VFS as it is.
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void vfs_dl_error(sqlite3_vfs*, int size, char* out) { g_real->xDlError(g_real, size, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int vfs_sleep(sqlite3_vfs*, int microseconds) { return g_real->xSleep(g_real, microseconds); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError(g_real, size, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

const char* register_vfs() {
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr || g_real->iVersion < 2) return nullptr;
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = "joey-yield";
  g_vfs.xOpen = vfs_open;
  g_vfs.xDelete = vfs_delete;
  g_vfs.xAccess = vfs_access;
  g_vfs.xFullPathname = vfs_full_pathname;
  g_vfs.xDlOpen = vfs_dl_open;
  g_vfs.xDlError = vfs_dl_error;
  g_vfs.xDlSym = vfs_dl_sym;
  g_vfs.xDlClose = vfs_dl_close;
  g_vfs.xRandomness = vfs_randomness;
  g_vfs.xSleep = vfs_sleep;
  g_vfs.xCurrentTime = vfs_current_time;
  g_vfs.xGetLastError = vfs_get_last_error;
  g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return g_vfs.zName;
}

}  // namespace

const char* yielding_vfs_name() {
  static const char* const name = register_vfs();
  return name;
}

unsigned long long yielding_vfs_yields() { return g_yields.load(std::memory_order_relaxed); }

}  // namespace joey::store::detail

namespace joey::store {

void set_page_write_yields(unsigned pages_per_yield,
                           std::chrono::steady_clock::time_point one_by_one_until) {
  detail::t_yield_every = pages_per_yield;
  detail::t_unyielded = 0;
  detail::t_one_by_one_until = one_by_one_until;
}

}  // namespace joey::store
