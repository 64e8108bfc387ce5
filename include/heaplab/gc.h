/*
 * heaplab/gc.h — the garbage-collected heap: typed allocation, roots, the
 * write barrier, collector control and statistics.
 *
 * The collector is Go's: concurrent, non-moving, tri-color mark-sweep with
 * parallel marking, a hybrid write barrier, allocate-black, background mark
 * workers, assists and a pacer (docs/gc.md). It runs inside the goroutine
 * runtime: every call here must be made from a goroutine (hl_main).
 *
 * THE RULE: every store of a pointer into a heap object or a registered
 * root goes through HL_STORE (or hl_wb_memmove/hl_wb_memcpy for bulk
 * copies). Stores into local variables (goroutine stacks) need no barrier.
 * A store that bypasses the barrier while the collector marks can hide a
 * live object from it, which is then freed under the program's feet.
 * HLDEBUG=gccheckmark=1 catches the effect (docs/gc.md).
 *
 * What is scanned: objects from hl_new/hl_new_array at the pointer fields
 * their type names, objects from hl_alloc_conservative word by word,
 * goroutine stacks and saved registers word by word (interior pointers
 * keep objects alive), registered roots word by word. Memory from malloc,
 * mmap or a thread outside the runtime is not scanned: register it with
 * hl_gc_add_root if it holds the only pointer to a collected object.
 */
#ifndef HEAPLAB_GC_H
#define HEAPLAB_GC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HL_API
#define HL_API __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------- type descriptors */

/* A pointer field of a type: every word of [offset, offset + size) holds a
 * pointer (size > 8 for arrays of pointers). */
typedef struct hl_ptrfield {
  uint32_t offset;
  uint32_t size;
} hl_ptrfield_t;

/* A type descriptor. Build one with HL_TYPE; the collector derives the
 * pointer bitmap (one bit per 8-byte word) on first use. */
typedef struct hl_type {
  size_t size;  /* sizeof the type */
  size_t align; /* _Alignof the type (at most 16 is honoured; more: 4096) */
  const char *name;
  uint32_t nfields;
  const hl_ptrfield_t *fields;
  /* filled by the runtime on first use */
  const uint64_t *_Atomic ptrmask_;
  uint64_t hbits_;        /* hl_new's fast path: the bitmap, one word, */
  uint64_t hlo_;          /* the slot's words (the bits it writes), */
  _Atomic uint32_t fast_; /* and the span class; 0: not looked at yet */
} hl_type_t;

#define HL__PF(T, f) \
  {(uint32_t)__builtin_offsetof(T, f), (uint32_t)sizeof(((T *)0)->f)},
#define HL__MAP1(m, T, x) m(T, x)
#define HL__MAP2(m, T, x, ...) m(T, x) HL__MAP1(m, T, __VA_ARGS__)
#define HL__MAP3(m, T, x, ...) m(T, x) HL__MAP2(m, T, __VA_ARGS__)
#define HL__MAP4(m, T, x, ...) m(T, x) HL__MAP3(m, T, __VA_ARGS__)
#define HL__MAP5(m, T, x, ...) m(T, x) HL__MAP4(m, T, __VA_ARGS__)
#define HL__MAP6(m, T, x, ...) m(T, x) HL__MAP5(m, T, __VA_ARGS__)
#define HL__MAP7(m, T, x, ...) m(T, x) HL__MAP6(m, T, __VA_ARGS__)
#define HL__MAP8(m, T, x, ...) m(T, x) HL__MAP7(m, T, __VA_ARGS__)
#define HL__MAP9(m, T, x, ...) m(T, x) HL__MAP8(m, T, __VA_ARGS__)
#define HL__MAP10(m, T, x, ...) m(T, x) HL__MAP9(m, T, __VA_ARGS__)
#define HL__MAP11(m, T, x, ...) m(T, x) HL__MAP10(m, T, __VA_ARGS__)
#define HL__MAP12(m, T, x, ...) m(T, x) HL__MAP11(m, T, __VA_ARGS__)
#define HL__MAP13(m, T, x, ...) m(T, x) HL__MAP12(m, T, __VA_ARGS__)
#define HL__MAP14(m, T, x, ...) m(T, x) HL__MAP13(m, T, __VA_ARGS__)
#define HL__MAP15(m, T, x, ...) m(T, x) HL__MAP14(m, T, __VA_ARGS__)
#define HL__MAP16(m, T, x, ...) m(T, x) HL__MAP15(m, T, __VA_ARGS__)
#define HL__NARG(...) \
  HL__NARG_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define HL__NARG_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, \
                  _14, _15, _16, n, ...) n
#define HL__CAT(a, b) HL__CAT_(a, b)
#define HL__CAT_(a, b) a##b

/* HL_TYPE(T, field...) — a `const hl_type_t *` for type T whose listed
 * fields (up to 16; arrays of pointers allowed) hold pointers to collected
 * objects. Expands to the address of a static descriptor: cheap to use
 * inline, e.g. hl_new(HL_TYPE(struct node, left, right)).
 * HL_TYPE_NOPTR(T): a type without pointers (allocated noscan). */
#define HL_TYPE(T, ...)                                                    \
  (__extension__({                                                         \
    static const hl_ptrfield_t hl__f[] = {                                 \
        HL__CAT(HL__MAP, HL__NARG(__VA_ARGS__))(HL__PF, T, __VA_ARGS__)};  \
    /* writable: the runtime caches the pointer bitmap in it */          \
    static hl_type_t hl__t = {sizeof(T), _Alignof(T), #T,                  \
                              sizeof hl__f / sizeof hl__f[0], hl__f, 0, 0, 0, 0}; \
    (const hl_type_t *)&hl__t;                                             \
  }))
#define HL_TYPE_NOPTR(T)                                                \
  (__extension__({                                                      \
    static hl_type_t hl__t = {sizeof(T), _Alignof(T), #T, 0, 0, 0, 0, 0, 0}; \
    (const hl_type_t *)&hl__t;                                          \
  }))

/* ------------------------------------------------------------ allocation */

/* A zeroed object of type t; its pointer fields are scanned precisely.
 * Never returns NULL: a heap exhausted beyond what the OS gives is
 * "fatal error: out of memory" with heap statistics. */
HL_API void *hl_new(const hl_type_t *t);
/* A zeroed array of n objects of type t (n * t->size bytes). */
HL_API void *hl_new_array(const hl_type_t *t, size_t n);
/* size zeroed bytes that hold no pointers: never scanned (noscan spans).
 * Sizes under 16 bytes share 16-byte blocks (Go's tiny allocator). */
HL_API void *hl_alloc_noscan(size_t size);
/* size zeroed bytes scanned word by word (any word that looks like a heap
 * pointer keeps its target alive). */
HL_API void *hl_alloc_conservative(size_t size);
/* Usable size of a collected object (its size class). 0 for a pointer
 * that is not the start of a collected object, and in sbrk mode
 * (HLDEBUG=sbrk=1: objects carry no size). */
HL_API size_t hl_gc_usable_size(const void *p);

/* ----------------------------------------------------------------- roots */

/* Registers [addr, addr + size) as a root scanned word by word (globals,
 * malloc'ed tables holding collected pointers). Stores into it must use
 * HL_STORE. Roots may be registered from any thread. */
HL_API void hl_gc_add_root(void *addr, size_t size);
/* Unregisters the root that starts at addr (fatal if there is none). */
HL_API void hl_gc_remove_root(void *addr);

/* --------------------------------------------------------- write barrier */

/* Non-zero while the collector marks (the barrier is on). */
extern HL_API volatile uint32_t hl_gc_wb_enabled;
/* The barrier's slow path: shades *slot and val, then stores val. */
HL_API void hl_gc_wb_slow(void **slot, void *val);
/* The fast path's second look: the store `*slot = val` was made without
 * the barrier and the collector marks now; shades old (the value
 * overwritten) and val. */
HL_API void hl_gc_wb_late(void *old, void *val);

/* HL_STORE(lvalue, value): the store `lvalue = value` of a pointer into a
 * heap object or a root, with Go's hybrid write barrier. When the
 * collector is not marking, the cost is two loads of the flag, one of the
 * old value and two predicted branches. The flag is looked at again after
 * a store made without the barrier: a goroutine whose P the preemption
 * signal takes between the first look and the store, and whose thread
 * then does not run until a collection has started, would otherwise
 * delete the old value unshaded (Go makes its barrier sequences unsafe
 * points for asynchronous preemption; an inline C macro cannot be). */
#define HL_STORE(dst, val)                                              \
  do {                                                                  \
    __typeof__(dst) hl__v = (val);                                      \
    if (__builtin_expect(__atomic_load_n(&hl_gc_wb_enabled,             \
                                         __ATOMIC_RELAXED) != 0, 0)) {  \
      hl_gc_wb_slow((void **)(void *)&(dst), (void *)hl__v);            \
    } else {                                                            \
      void *hl__old = (void *)(dst);                                    \
      (dst) = hl__v;                                                    \
      if (__builtin_expect(__atomic_load_n(&hl_gc_wb_enabled,           \
                                           __ATOMIC_RELAXED) != 0, 0))  \
        hl_gc_wb_late(hl__old, (void *)hl__v);                          \
    }                                                                   \
  } while (0)

/* memmove/memcpy of n bytes that may hold pointers into collected memory,
 * with the barrier applied to every word (dst and src 8-byte aligned for
 * the words to be seen as pointers). */
HL_API void *hl_wb_memmove(void *dst, const void *src, size_t n);
HL_API void *hl_wb_memcpy(void *dst, const void *src, size_t n);

/* ---------------------------------------------------------------- control */

/* Runs a full collection (sweep termination, mark, mark termination and
 * the sweep of the whole heap) and returns when it is done. */
HL_API void hl_gc(void);
/* Go's debug.SetGCPercent: sets the heap growth target (HLGC), returns the
 * previous value; a negative value turns the collector off. */
HL_API int hl_gc_set_percent(int percent);
/* Go's debug.SetMemoryLimit: sets the soft memory limit in bytes
 * (HLMEMLIMIT), returns the previous one; a negative value only reads it.
 * INT64_MAX means no limit. */
HL_API int64_t hl_gc_set_memlimit(int64_t bytes);
/* Registers fn to run at the start of every cycle, with the world stopped
 * (Go's registerPoolCleanup: object pools drop their caches here). fn must
 * not allocate, block or take a lock a goroutine can hold. At most 8
 * functions; returns 0, or -1 when the table is full. */
HL_API int hl_gc_register_cleanup(void (*fn)(void));

/* Finalizers: after obj becomes unreachable, fn(obj, arg) runs on the
 * finalizer goroutine; obj stays allocated for that call and is freed by a
 * later cycle if fn did not make it reachable again. One finalizer per
 * object; fn == NULL removes it. obj must be the start of a collected
 * object (fatal otherwise). */
HL_API void hl_set_finalizer(void *obj, void (*fn)(void *obj, void *arg),
                             void *arg);

/* ------------------------------------------------------------ statistics */

#define HL_GC_PAUSES 256

typedef struct hl_gc_stats {
  uint64_t numgc;      /* completed cycles */
  uint64_t numforced;  /* of them, by hl_gc */
  /* Stop-the-world pauses of the last cycles (Go's PauseNs/PauseEnd): a
   * circular buffer, the most recent at [(numgc + 255) % 256]. Each is the
   * sum of the cycle's two pauses; pause_end is hl_nanotime() at its end. */
  uint64_t pause_ns[HL_GC_PAUSES];
  uint64_t pause_end[HL_GC_PAUSES];
  uint64_t pause_total_ns;
  uint64_t pause_max_ns;   /* longest single stop-the-world */
  uint64_t heap_live;      /* bytes marked by the last cycle */
  uint64_t heap_goal;      /* the pacer's goal for the next cycle */
  uint64_t heap_alloc;     /* bytes in allocated objects now */
  uint64_t total_alloc;    /* bytes allocated ever */
  uint64_t heap_objects;   /* objects allocated now (after the last sweep) */
  uint64_t heap_sys;       /* bytes in collected spans */
  double gc_cpu_fraction;  /* GC CPU / total CPU since start (Go's) */
  uint64_t assist_ns;      /* time goroutines spent in assists */
  uint64_t mark_worker_ns; /* time spent by background mark workers */
  uint64_t last_gc_end;    /* hl_nanotime() at the end of the last cycle */
  int gc_percent;          /* current HLGC (-1: off) */
  int64_t memory_limit;    /* current HLMEMLIMIT (INT64_MAX: none) */
} hl_gc_stats_t;

/* Fills st. May be called from any thread, a goroutine or not (the
 * experiment runner samples it from a plain thread while a workload
 * runs); a cycle ending meanwhile may give a snapshot mixing its figures
 * with the previous cycle's. */
HL_API void hl_gc_stats(hl_gc_stats_t *st);

#ifdef __cplusplus
}
#endif
#endif
