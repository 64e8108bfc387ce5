/*
 * sched/dump_stack.c — stack traces of goroutines for dumps, with
 * libunwind.
 *
 * Entry point: dump_stack_init (from diag_init), which installs
 * goroutine_dump_stack_hook(fd, gp) for goroutine_dump (dump.c). The hook
 * prints gp's frames, Go-like:
 *
 *	gopark+0x8f(...)
 *		0x55d3c2a1b7ef
 *
 * (function name and offset of the return address in it, then the pc),
 * at most MAX_FRAMES of them (a name may be cut at NAME_MAX_ bytes), then
 * "started as fn(arg)": the function the goroutine was started with,
 * which a goroutine that never ran yet has not on its stack. gp == NULL
 * prints the calling thread's own stack.
 *
 * Where the registers come from:
 *  1. The calling goroutine (the one dumping, e.g. on a fatal error or in
 *     a signal handler on its thread) and gp == NULL: unw_getcontext
 *     here; the dumper's own leading frames are left out. Through a
 *     signal frame libunwind continues into the interrupted code.
 *  2. A parked goroutine (RUNNABLE or WAITING: its status is stored only
 *     after its context was saved): the frame hl_ctx_switch pushed at
 *     gp->sp holds its callee-saved registers and return address, which
 *     is everything a call site needs. x86-64 frame (ctx_x86_64.S), low to
 *     high: [mxcsr|x87cw] r15 r14 r13 r12 rbx rbp ret, so rip = ret and
 *     rsp = gp->sp + 8 words. AArch64 (ctx_aarch64.S): x19..x28 x29 x30 at
 *     words 0..11 of a 176-byte frame, pc = x30, sp = gp->sp + 176. The
 *     ucontext fallback saves a whole ucontext_t at gp->sp, which is what
 *     libunwind's unw_context_t is on Linux.
 *  3. A goroutine running on another thread (or in a system call): its
 *     registers are on that thread, not in memory: "stack unavailable",
 *     as Go says by default. Rejected: signalling that thread to unwind
 *     itself. Every M is created with all signals blocked (os_thread_start)
 *     and no M unblocks one, so the signal would never arrive; and a
 *     thread stopped in arbitrary code (a lock, malloc) must not be made
 *     to run an unwinder that may take the loader's lock.
 *
 * Racing goroutines. Nothing stops a parked goroutine from being readied
 * and run while its stack is read (the dump does not stop the world), so
 * the frames may change under libunwind: values read may be stale, and a
 * stale frame pointer may point anywhere. libunwind built with
 * conservative checks (the default, and Debian's build) validates every
 * address it reads (mincore), so the walk just ends; for builds without
 * them each unwind runs under a fault probe: SIGSEGV/SIGBUS are unblocked
 * for its duration (the stack overflow handler dumps with SIGSEGV
 * blocked) and a fault while the probe is armed siglongjmps back here,
 * which prints "stack unreadable" and goes on with the next goroutine; a
 * fault with no probe armed goes to the handler installed before
 * (stack.c's overflow handler, or the default). libunwind's cache is
 * turned off (UNW_CACHE_NONE) so that no libunwind lock is held when a
 * probe jumps out. After an unwind, a changed gp->sp or status marks the
 * trace as possibly stale.
 *
 * Allocation: nothing here allocates: names go into stack buffers,
 * symbol tables are read from mappings of the ELF files (see "symbol
 * names" below), output goes through hl_printf, and libunwind (used for
 * unwinding only, initialised by dump_stack_init) unwinds without malloc.
 */
#include "sched/internal.h"

#ifdef HL_HAVE_LIBUNWIND

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FRAMES 100 /* per goroutine, as Go's traceback */
#define NAME_MAX_ 256

/* ---------------------------------------------------------- fault probe */

/* Armed (non-NULL) while this thread unwinds; written only by this thread
 * and by its own signal handler. */
static __thread sigjmp_buf *volatile probe_jmp
    __attribute__((tls_model("initial-exec")));
static struct sigaction prev_segv, prev_bus;

static void probe_handler(int sig, siginfo_t *si, void *uc) {
  sigjmp_buf *jb = probe_jmp;
  if (jb) {
    probe_jmp = NULL;
    siglongjmp(*jb, 1);
  }
  /* not a probe fault: whoever handled it before us */
  struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
  if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
    prev->sa_sigaction(sig, si, uc);
    return;
  }
  if (prev->sa_handler != SIG_IGN && prev->sa_handler != SIG_DFL &&
      prev->sa_handler) {
    prev->sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* ------------------------------------------------------- symbol names */

/* Function names come from the ELF symbol tables of the loaded images,
 * read here rather than with unw_get_proc_name: libunwind 1.6 mallocs a
 * path on every lookup, and a fatal dump may run inside malloc (heaplab's
 * own, when it is the process's malloc) or in a signal handler.
 *  1. dl_iterate_phdr finds the image whose PT_LOAD segment holds the pc,
 *     its load bias and its path ("" for the executable: /proc/self/exe).
 *  2. The file is mapped read-only; .symtab is searched (.dynsym when the
 *     image is stripped) for the function symbol whose [value, value +
 *     size) holds pc - bias.
 *  3. The name is copied out and the file unmapped.
 * Rejected: dladdr (dynamic symbols only: every static function of the
 * runtime and of the program would be "?"). Images that are not files
 * (the vDSO) have no name here. */

typedef struct findimg {
  uintptr_t pc;
  uintptr_t bias;
  char path[512];
  bool found;
} findimg_t;

static int findimg_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  findimg_t *fi = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type != PT_LOAD || fi->pc < lo || fi->pc - lo >= ph->p_memsz)
      continue;
    const char *path = info->dlpi_name && info->dlpi_name[0]
                           ? info->dlpi_name
                           : "/proc/self/exe";
    size_t n = strlen(path);
    if (n >= sizeof fi->path)
      return 1; /* found, but cannot be opened: no name */
    memcpy(fi->path, path, n + 1);
    fi->bias = info->dlpi_addr;
    fi->found = true;
    return 1;
  }
  return 0;
}

/* Searches the symbol table `sh` of the mapped image for the function
 * holding addr (an address relative to the image). */
static bool symtab_lookup(const unsigned char *img, size_t size,
                          const ElfW(Shdr) *shdrs, size_t nsh,
                          const ElfW(Shdr) *sh, uintptr_t addr, char *name,
                          size_t len, uintptr_t *off) {
  if (sh->sh_link >= nsh || sh->sh_entsize != sizeof(ElfW(Sym)) ||
      sh->sh_offset > size || sh->sh_size > size - sh->sh_offset)
    return false;
  const ElfW(Shdr) *strsh = &shdrs[sh->sh_link];
  if (strsh->sh_offset > size || strsh->sh_size > size - strsh->sh_offset)
    return false;
  const ElfW(Sym) *syms = (const ElfW(Sym) *)(img + sh->sh_offset);
  const char *strs = (const char *)(img + strsh->sh_offset);
  size_t nsyms = sh->sh_size / sizeof(ElfW(Sym));
  for (size_t i = 0; i < nsyms; i++) {
    const ElfW(Sym) *sym = &syms[i];
    int type = ELF64_ST_TYPE(sym->st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
        sym->st_shndx == SHN_UNDEF || addr < sym->st_value ||
        addr - sym->st_value >= (sym->st_size ? sym->st_size : 1) ||
        sym->st_name >= strsh->sh_size)
      continue;
    const char *s = strs + sym->st_name;
    size_t n = strnlen(s, strsh->sh_size - sym->st_name);
    if (n >= len)
      n = len - 1;
    memcpy(name, s, n);
    name[n] = '\0';
    *off = addr - sym->st_value;
    return true;
  }
  return false;
}

/* Names the function containing pc; *off is pc's offset in it.
 * *in_image (may be NULL) tells whether pc is in a loaded image at all,
 * named or not. */
static bool symbolize(uintptr_t pc, char *name, size_t len, uintptr_t *off,
                      bool *in_image) {
  findimg_t fi = {.pc = pc, .found = false};
  dl_iterate_phdr(findimg_cb, &fi);
  if (in_image)
    *in_image = fi.found;
  if (!fi.found)
    return false;
  int fd = open(fi.path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(ElfW(Ehdr)))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return false;
  size_t size = (size_t)st.st_size;
  const unsigned char *img = map;
  const ElfW(Ehdr) *eh = map;
  bool ok = false;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
      eh->e_ident[EI_CLASS] == ELFCLASS64 &&
      eh->e_shentsize == sizeof(ElfW(Shdr)) && eh->e_shoff < size &&
      eh->e_shnum <= (size - eh->e_shoff) / sizeof(ElfW(Shdr))) {
    const ElfW(Shdr) *shdrs = (const ElfW(Shdr) *)(img + eh->e_shoff);
    uintptr_t addr = pc - fi.bias;
    for (int pass = 0; pass < 2 && !ok; pass++) {
      uint32_t want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
      for (size_t i = 0; i < eh->e_shnum && !ok; i++)
        if (shdrs[i].sh_type == want)
          ok = symtab_lookup(img, size, shdrs, eh->e_shnum, &shdrs[i], addr,
                             name, len, off);
    }
  }
  munmap(map, size);
  return ok;
}

/* ------------------------------------------------------------- printing */

DIAG_RACY static void print_entry(int fd, g_t *gp) {
  char name[NAME_MAX_];
  uintptr_t off;
  uintptr_t fn = (uintptr_t)gp->fn;
  if (fn && symbolize(fn, name, sizeof name, &off, NULL) && off == 0)
    hl_printf(fd, "started as %s(%p)\n", name, (void *)gp->startarg);
  else
    hl_printf(fd, "started as %p(%p)\n", (void *)fn, (void *)gp->startarg);
}

/* The dumper's own frames, left out of the calling thread's stack (the
 * stack starts at the code that asked for the dump). */
static const char *const dumper_frames[] = {
    "print_current", "dump_stack_hook", "dump_one", "goroutine_dump",
    "dump_thread_stack",
};

/* Compares up to a '.': the compiler's clones (f.constprop.0, f.isra.0,
 * f.part.0) are f. */
static bool is_dumper_frame(const char *name) {
  size_t len = strcspn(name, ".");
  for (size_t i = 0; i < sizeof dumper_frames / sizeof dumper_frames[0]; i++)
    if (strlen(dumper_frames[i]) == len &&
        memcmp(name, dumper_frames[i], len) == 0)
      return true;
  return false;
}

/* A signal handler returns into the C library's rt_sigreturn trampoline,
 * which libunwind steps through and which has no symbol of its own:
 * recognise its code. Called only for a pc in a loaded ELF image, so the
 * bytes are mapped (and the probe is armed in case they are not). */
__attribute__((no_sanitize_address)) static bool is_sigreturn(uintptr_t ip) {
#if defined(__x86_64__)
  /* mov $15, %rax; syscall */
  static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                       0x00, 0x00, 0x0f, 0x05};
  const volatile unsigned char *p = (const volatile unsigned char *)ip;
  for (size_t i = 0; i < sizeof code; i++)
    if (p[i] != code[i])
      return false;
  return true;
#elif defined(__aarch64__)
  /* mov x8, #139; svc #0 */
  const volatile uint32_t *insn = (const volatile uint32_t *)ip;
  return insn[0] == 0xd2801168u && insn[1] == 0xd4000001u;
#else
  (void)ip;
  return false;
#endif
}

/* Prints the frames from the cursor's position on. `self`: the unwind
 * started in this thread's dumper; leave out its leading frames. */
static void print_frames(int fd, unw_cursor_t *cur, bool self) {
  int n = 0;
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(cur, UNW_REG_IP, &ip) < 0 || ip == 0)
      break;
    /* A return address is just past its call, maybe past the end of the
     * function: look up the call itself. The frame a signal interrupted
     * has the exact pc. */
    uintptr_t look = unw_is_signal_frame(cur) > 0 ? ip : ip - 1, off = 0;
    char name[NAME_MAX_];
    bool mapped;
    bool named = symbolize(look, name, sizeof name, &off, &mapped);
    if (self && named && is_dumper_frame(name))
      continue; /* to unw_step */
    self = false;
    if (n++ == MAX_FRAMES) {
      hl_printf(fd, "\t...additional frames elided...\n");
      break;
    }
    off += ip - look;
    if (mapped && is_sigreturn(ip))
      hl_printf(fd, "\t<signal handler called>\n\t\t0x%lx\n",
                (unsigned long)ip);
    else if (named)
      hl_printf(fd, "\t%s+0x%lx(...)\n\t\t0x%lx\n", name, (unsigned long)off,
                (unsigned long)ip);
    else
      hl_printf(fd, "\t?(...)\n\t\t0x%lx\n", (unsigned long)ip);
  } while (unw_step(cur) > 0);
}

/* Unwinds from ctx under the fault probe. `self`: ctx is this thread's
 * own (the dumper's leading frames are left out); otherwise a parked
 * goroutine's saved context, whose pc is a return address (not a signal
 * frame). Returns false if the walk faulted. */
static bool unwind_probed(int fd, unw_context_t *ctx, bool self) {
  sigjmp_buf jb;
  sigset_t faults, old;
  sigemptyset(&faults);
  sigaddset(&faults, SIGSEGV);
  sigaddset(&faults, SIGBUS);
  /* savemask = 1: a jump back restores the mask this function found */
  if (sigsetjmp(jb, 1) != 0) {
    hl_printf(fd, "\t...stack unreadable (it changed while it was being "
                  "read)...\n");
    return false;
  }
  pthread_sigmask(SIG_UNBLOCK, &faults, &old);
  probe_jmp = &jb;
  unw_cursor_t cur;
  if (unw_init_local(&cur, ctx) == 0)
    print_frames(fd, &cur, self);
  else
    hl_printf(fd, "\t...cannot unwind...\n");
  probe_jmp = NULL;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return true;
}

/* The calling thread's stack, from its caller on. */
HL_NOINLINE static void print_current(int fd) {
  unw_context_t ctx;
  if (unw_getcontext(&ctx) != 0) {
    hl_printf(fd, "\t...cannot read the registers...\n");
    return;
  }
  unwind_probed(fd, &ctx, true);
  __asm__ __volatile__("" ::: "memory"); /* keep this frame: no tail call */
}

/* A parked goroutine's stack, from the registers its switch saved. */
DIAG_RACY static void print_parked(int fd, g_t *gp) {
  void *sp = gp->sp;
  uint32_t st = atomic_load_acquire(&gp->status);
  uintptr_t s = (uintptr_t)sp;
  unw_context_t ctx;
  memset(&ctx, 0, sizeof ctx);
#if defined(HL_CTX_UCONTEXT)
  size_t framesize = sizeof(unw_context_t);
#elif defined(__x86_64__)
  size_t framesize = 8 * sizeof(uintptr_t);
#elif defined(__aarch64__)
  size_t framesize = 176;
#else
  size_t framesize = 0;
#endif
  if (framesize == 0 || s < gp->stack.lo || s + framesize > gp->stack.hi ||
      s % sizeof(uintptr_t) != 0) {
    hl_printf(fd, "\t...saved stack pointer %p outside its stack [%p, %p)"
                  "...\n",
              sp, (void *)gp->stack.lo, (void *)gp->stack.hi);
    return;
  }
#if defined(HL_CTX_UCONTEXT)
  memcpy(&ctx, sp, sizeof ctx);
#elif defined(__x86_64__)
  const uintptr_t *f = sp;
  ctx.uc_mcontext.gregs[REG_R15] = (greg_t)f[1];
  ctx.uc_mcontext.gregs[REG_R14] = (greg_t)f[2];
  ctx.uc_mcontext.gregs[REG_R13] = (greg_t)f[3];
  ctx.uc_mcontext.gregs[REG_R12] = (greg_t)f[4];
  ctx.uc_mcontext.gregs[REG_RBX] = (greg_t)f[5];
  ctx.uc_mcontext.gregs[REG_RBP] = (greg_t)f[6];
  ctx.uc_mcontext.gregs[REG_RIP] = (greg_t)f[7];
  ctx.uc_mcontext.gregs[REG_RSP] = (greg_t)(s + 8 * sizeof(uintptr_t));
#elif defined(__aarch64__)
  const uintptr_t *f = sp;
  for (int i = 0; i < 12; i++) /* x19..x28, x29 (fp), x30 (lr) */
    ctx.uc_mcontext.regs[19 + i] = f[i];
  ctx.uc_mcontext.pc = f[11];
  ctx.uc_mcontext.sp = s + 176;
#endif
  if (unwind_probed(fd, &ctx, false) &&
      (gp->sp != sp || atomic_load_acquire(&gp->status) != st))
    hl_printf(fd, "\t...the goroutine ran while its stack was being read: "
                  "frames may be stale...\n");
}

/* goroutine_dump_stack_hook. */
DIAG_RACY static void dump_stack_hook(int fd, g_t *gp) {
  m_t *mp = getm();
  if (gp == NULL || (mp && mp->curg == gp)) {
    print_current(fd);
  } else {
    uint32_t st = atomic_load_acquire(&gp->status);
    m_t *on = gp->m;
    if (st == G_RUNNABLE || st == G_WAITING)
      print_parked(fd, gp);
    else if (st == G_SYSCALL)
      hl_printf(fd, "\tgoroutine in a system call on M%ld; stack "
                    "unavailable\n",
                on ? (long)on->id : -1L);
    else
      hl_printf(fd, "\tgoroutine running on other thread (M%ld); stack "
                    "unavailable\n",
                on ? (long)on->id : -1L);
  }
  if (gp)
    print_entry(fd, gp);
}

void dump_stack_init(void) {
  /* no cache, hence no libunwind lock to leave held by a probe's jump */
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
  /* libunwind initialises itself on first use (memory pools, the pipe it
   * validates addresses with): do it now, not in a signal handler */
  unw_context_t ctx;
  unw_cursor_t cur;
  if (unw_getcontext(&ctx) == 0 && unw_init_local(&cur, &ctx) == 0)
    unw_step(&cur);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = probe_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &prev_segv);
  sigaction(SIGBUS, &sa, &prev_bus);
  goroutine_dump_stack_hook = dump_stack_hook;
}

#else /* !HL_HAVE_LIBUNWIND: dump.c prints each goroutine's entry only */

void dump_stack_init(void) {}

#endif
