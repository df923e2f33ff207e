/*
 * rdma-core's userspace mlx5 over VFIO (the C peer of cxu, not written here)
 * against the cxu model in the QEMU guest: open the 15b3 function bound to
 * vfio-pci with mlx5dv_get_vfio_device_list + ibv_open_device (rdma-core runs
 * the whole firmware bring-up), send NOP and QUERY_HCA_CAP through
 * mlx5dv_devx_general_cmd and check every output, time NOPs one at a time,
 * and close the device.
 *
 * Prints "PASS name: detail" / "FAIL name: detail" lines, "INFO peer ..."
 * lines with the measured figures, and "guest: rdma N passed, M failed".
 * Built statically on the host against Debian's libibverbs-dev (libmlx5.a,
 * libibverbs.a) and libnl from the guest cache (tests/tests/qemu_guest/rdma.rs).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/mlx5dv.h>
#include <infiniband/verbs.h>

/* mlx5_ifc.h (Linux 6.12) */
#define OP_QUERY_HCA_CAP 0x100
#define OP_NOP 0x80d
/* An opcode no firmware has: the answer must be BAD_OP (0x02). */
#define OP_UNKNOWN 0x7ff
#define STATUS_BAD_OP 0x02
#define CAP_GENERAL_CUR 0x1 /* op_mod: (type 0 << 1) | current */
#define CAP_GENERAL_MAX 0x0
#define CAP_OFFSET 0x10 /* query_hca_cap_out.capability */
#define CAP_SIZE 0x1000
/* cmd_hca_cap: port_type at bit 0x1a8 (dword 0x34, bits 9:8), umem_uid_0 at
 * bit 0x252 (dword 0x48, bit 13), log_max_eq_sz at dword 0x1c bits 31:24. */
#define CAP_DW(page, off) \
  (((uint32_t)(page)[(off)] << 24) | ((uint32_t)(page)[(off) + 1] << 16) | \
   ((uint32_t)(page)[(off) + 2] << 8) | (uint32_t)(page)[(off) + 3])

/* Debian trixie's static libraries were built against glibc 2.41, whose
 * headers map strtol/sscanf to their C23 variants (which also take 0b
 * binary literals); the host's glibc may be older (bookworm: 2.36) and lack
 * them. Weak stand-ins: a newer libc's own definitions win. */
__attribute__((weak)) long __isoc23_strtol(const char *s, char **e, int b) {
  return strtol(s, e, b);
}
__attribute__((weak)) unsigned long __isoc23_strtoul(const char *s, char **e,
                                                     int b) {
  return strtoul(s, e, b);
}
__attribute__((weak)) int __isoc23_sscanf(const char *s, const char *f, ...) {
  va_list ap;
  int n;
  va_start(ap, f);
  n = vsscanf(s, f, ap);
  va_end(ap);
  return n;
}
__attribute__((weak)) int __isoc23_fscanf(FILE *s, const char *f, ...) {
  va_list ap;
  int n;
  va_start(ap, f);
  n = vfscanf(s, f, ap);
  va_end(ap);
  return n;
}

static int passed, failed;

static void check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(int ok, const char *name, const char *fmt, ...) {
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  printf("%s %s: %s\n", ok ? "PASS" : "FAIL", name, detail);
  fflush(stdout);
  if (ok)
    passed++;
  else
    failed++;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The first PCI function with vendor 0x15b3 (the model). */
static int find_function(char *bdf, size_t len) {
  DIR *d = opendir("/sys/bus/pci/devices");
  struct dirent *e;
  int found = 0;
  if (!d)
    return 0;
  while (!found && (e = readdir(d))) {
    char path[512], vendor[16] = {0};
    FILE *f;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
    f = fopen(path, "r");
    if (!f)
      continue;
    if (fgets(vendor, sizeof(vendor), f) && strncmp(vendor, "0x15b3", 6) == 0) {
      snprintf(bdf, len, "%s", e->d_name);
      found = 1;
    }
    fclose(f);
  }
  closedir(d);
  return found;
}

/* One command: returns the errno of mlx5dv_devx_general_cmd; *status is the
 * output's status byte. */
static int cmd(struct ibv_context *ctx, uint16_t opcode, uint16_t op_mod,
               void *out, size_t outlen, uint8_t *status) {
  uint8_t in[16] = {0};
  int err;
  in[0] = opcode >> 8;
  in[1] = opcode & 0xff;
  in[6] = op_mod >> 8;
  in[7] = op_mod & 0xff;
  memset(out, 0xa5, outlen);
  err = mlx5dv_devx_general_cmd(ctx, in, sizeof(in), out, outlen);
  *status = ((uint8_t *)out)[0];
  return err;
}

int main(int argc, char **argv) {
  int nops = argc > 1 ? atoi(argv[1]) : 3000;
  int queries = argc > 2 ? atoi(argv[2]) : 500;
  struct mlx5dv_vfio_context_attr attr = {0};
  struct ibv_device **list;
  struct ibv_context *ctx;
  char bdf[256];
  static uint8_t out[CAP_OFFSET + CAP_SIZE], first[CAP_SIZE];
  uint64_t *lat;
  uint64_t t0, total;
  uint8_t status;
  int i, err, bad = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!find_function(bdf, sizeof(bdf))) {
    check(0, "rdma-find", "no 15b3 function in /sys/bus/pci/devices");
    goto done;
  }
  attr.pci_name = bdf;
  list = mlx5dv_get_vfio_device_list(&attr);
  check(list && list[0], "rdma-device-list", "%s: %s", bdf,
        list && list[0] ? "found" : strerror(errno));
  if (!list || !list[0])
    goto done;

  t0 = now_ns();
  ctx = ibv_open_device(list[0]);
  check(ctx != NULL, "rdma-open", "ibv_open_device: %s (%.1f ms)",
        ctx ? "ok" : strerror(errno), (now_ns() - t0) / 1e6);
  if (!ctx) {
    ibv_free_device_list(list);
    goto done;
  }

  /* A firmware page request: the server asks for pages once rdma-core's EQ
   * exists. The events fd (the MSI-X eventfd) fires; rdma-core's own event
   * processing gives the pages with MANAGE_PAGES in slot 31, asynchronously:
   * that command's completion EQE is consumed while the NOPs below wait. */
  {
    struct pollfd pfd = {.fd = mlx5dv_vfio_get_events_fd(ctx), .events = POLLIN};
    int n, perr = -1;
    t0 = now_ns();
    n = poll(&pfd, 1, 30000);
    if (n > 0)
      perr = mlx5dv_vfio_process_events(ctx);
    check(n > 0 && perr == 0, "rdma-page-request",
          "events fd %s after %.1f ms, mlx5dv_vfio_process_events %d",
          n > 0 ? "readable" : "silent", (now_ns() - t0) / 1e6, perr);
  }

  /* NOPs, one at a time (devx general commands are synchronous): each
   * answered OK with syndrome 0; the time of each is kept. */
  lat = calloc(nops, sizeof(*lat));
  t0 = now_ns();
  for (i = 0; i < nops && lat; i++) {
    uint64_t s = now_ns();
    err = cmd(ctx, OP_NOP, 0, out, 16, &status);
    lat[i] = now_ns() - s;
    if (err || status || CAP_DW(out, 4) != 0) {
      if (!bad++)
        printf("rdma: NOP %d: err %d status 0x%x syndrome 0x%x\n", i, err,
               status, CAP_DW(out, 4));
    }
  }
  total = now_ns() - t0;
  check(lat && !bad, "rdma-nop", "%d NOPs, %d bad", nops, bad);
  if (lat && nops > 0) {
    qsort(lat, nops, sizeof(*lat), cmp_u64);
    printf("INFO peer rdma-core depth 1 events: %.0f NOPs/s, median %.1f us, "
           "p99 %.1f us (%d NOPs)\n",
           nops / (total / 1e9), lat[nops / 2] / 1e3,
           lat[(uint64_t)nops * 99 / 100] / 1e3, nops);
  }
  free(lat);

  /* QUERY_HCA_CAP, general, current and maximum: every answer OK; the
   * current page is the same every time, and shows the capability rdma-core's
   * open required (umem_uid_0) and the Ethernet port type. */
  bad = 0;
  lat = calloc(queries > 0 ? queries : 1, sizeof(*lat));
  t0 = now_ns();
  for (i = 0; i < queries; i++) {
    uint64_t s;
    /* The current page first, then the maximum (a run of each). */
    int current = i < queries / 2 || queries < 2;
    uint16_t op_mod = current ? CAP_GENERAL_CUR : CAP_GENERAL_MAX;
    s = now_ns();
    err = cmd(ctx, OP_QUERY_HCA_CAP, op_mod, out, sizeof(out), &status);
    if (lat)
      lat[i] = now_ns() - s;
    if (err || status) {
      if (!bad++)
        printf("rdma: QUERY_HCA_CAP %d: err %d status 0x%x\n", i, err, status);
      continue;
    }
    if (i == 0)
      memcpy(first, out + CAP_OFFSET, CAP_SIZE);
    else if (current && memcmp(first, out + CAP_OFFSET, CAP_SIZE) != 0 &&
             !bad++)
      printf("rdma: QUERY_HCA_CAP %d: the current page changed\n", i);
  }
  total = now_ns() - t0;
  check(!bad, "rdma-query-hca-cap", "%d queries, %d bad", queries, bad);
  if (lat && queries > 0) {
    qsort(lat, queries, sizeof(*lat), cmp_u64);
    printf("INFO peer rdma-core QUERY_HCA_CAP depth 1 events: %.0f/s, median "
           "%.1f us (%d queries, 4112-byte output)\n",
           queries / (total / 1e9), lat[queries / 2] / 1e3, queries);
  }
  free(lat);
  {
    uint32_t dw48 = CAP_DW(first, 0x48), dw34 = CAP_DW(first, 0x34);
    check((dw48 >> 13) & 1, "rdma-cap-umem-uid-0", "dword 0x48 = 0x%08x", dw48);
    check(((dw34 >> 8) & 3) == 1, "rdma-cap-port-type-eth",
          "port_type %u, log_max_eq_sz %u", (dw34 >> 8) & 3,
          CAP_DW(first, 0x1c) >> 24);
  }

  /* A UMEM (what umem_uid_0 is about: rdma-core creates it with uid 0):
   * registered through VFIO and CREATE_UMEM, then destroyed. */
  {
    void *buf = NULL;
    struct mlx5dv_devx_umem *umem = NULL;
    uint32_t id = 0;
    int derr = -1;
    if (posix_memalign(&buf, 8192, 8192) == 0) {
      memset(buf, 0, 8192);
      umem = mlx5dv_devx_umem_reg(ctx, buf, 8192, IBV_ACCESS_LOCAL_WRITE);
      if (umem)
        id = umem->umem_id;
      derr = umem ? mlx5dv_devx_umem_dereg(umem) : -1;
    }
    check(umem && id != 0 && derr == 0, "rdma-umem", "reg %s (id %u), dereg %d",
          umem ? "ok" : strerror(errno), id, derr);
    free(buf);
  }

  /* An opcode firmware does not know: refused with BAD_OP, and the device
   * still answers afterwards. */
  err = cmd(ctx, OP_UNKNOWN, 0, out, 16, &status);
  check(err != 0 && status == STATUS_BAD_OP, "rdma-unknown-opcode",
        "err %d status 0x%x", err, status);
  err = cmd(ctx, OP_NOP, 0, out, 16, &status);
  check(!err && !status, "rdma-nop-after-error", "err %d status 0x%x", err,
        status);

  err = ibv_close_device(ctx);
  check(err == 0, "rdma-close", "ibv_close_device: %d", err);
  ibv_free_device_list(list);
done:
  printf("guest: rdma %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
