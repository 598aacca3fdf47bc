/* bench-delay.c: a long path on loopback.  Holds every packet that NFQUEUE hands it for
 * a fixed delay, then accepts it, in arrival order.
 *
 * This kernel has no netem, so the long-fat-path benchmark (bench-lfn.py) sends the
 * packets of one link of each chain, inside a network namespace it made, through
 * `iptables -j NFQUEUE` to this program.  Only the packets' metadata comes up
 * (NFQNL_COPY_META), GSO packets stay whole (NFQA_CFG_F_GSO), and one batch verdict
 * releases every packet that is due: the delay costs a few system calls per
 * millisecond, not a copy per byte.  Every packet waits the same time, so the queue
 * is a FIFO and packet ids leave in the order they came.
 *
 *   bench-delay QUEUE DELAY_MS
 *
 * It runs until SIGTERM or SIGINT and then prints what it held. */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

/* More than a 64 MiB window's worth of 1,500-byte packets at once. */
#define RING_SIZE (1u << 18)
#define QUEUE_MAXLEN 200000u
#define SOCKET_BUFFER (64u * 1024 * 1024)

typedef struct {
  uint32_t id;
  int64_t due_ns;
} Held;

static Held ring[RING_SIZE];
static uint32_t ring_head, ring_tail; /* held = tail - head */
static int64_t delay_ns;
static uint64_t packets, most_held, overflows;
static volatile sig_atomic_t stopping;

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
on_packet (struct nfq_q_handle *queue, struct nfgenmsg *msg, struct nfq_data *data, void *user)
{
  struct nfqnl_msg_packet_hdr *header = nfq_get_msg_packet_hdr (data);
  uint32_t id;

  (void) msg;
  (void) user;
  if (header == NULL)
    return 0;
  id = ntohl (header->packet_id);
  if (ring_tail - ring_head == RING_SIZE)
    {
      /* Full: let it through now rather than lose it; counted, so a run that needed it
       * says so. */
      overflows++;
      return nfq_set_verdict (queue, id, NF_ACCEPT, 0, NULL);
    }
  ring[ring_tail % RING_SIZE] = (Held){ id, now_ns () + delay_ns };
  ring_tail++;
  packets++;
  if (ring_tail - ring_head > most_held)
    most_held = ring_tail - ring_head;
  return 0;
}

/* Accepts every packet that is due with one verdict on the newest of them. */
static void
release_due (struct nfq_q_handle *queue)
{
  int64_t now = now_ns ();
  uint32_t last = 0;
  int any = 0;

  while (ring_head != ring_tail && ring[ring_head % RING_SIZE].due_ns <= now)
    {
      last = ring[ring_head % RING_SIZE].id;
      any = 1;
      ring_head++;
    }
  if (any && nfq_set_verdict_batch (queue, last, NF_ACCEPT) < 0)
    fprintf (stderr, "bench-delay: verdict: %s\n", strerror (errno));
}

static void
on_signal (int sig)
{
  (void) sig;
  stopping = 1;
}

int
main (int argc, char **argv)
{
  static char buffer[1 << 16];
  struct nfq_handle *handle;
  struct nfq_q_handle *queue;
  struct sigaction action = { .sa_handler = on_signal };
  int fd, queue_num;

  if (argc != 3)
    {
      fprintf (stderr, "usage: bench-delay QUEUE DELAY_MS\n");
      return 2;
    }
  queue_num = atoi (argv[1]);
  delay_ns = (int64_t) (atof (argv[2]) * 1e6);

  handle = nfq_open ();
  if (handle == NULL)
    {
      fprintf (stderr, "bench-delay: nfq_open: %s (root, and a kernel with NFQUEUE?)\n",
               strerror (errno));
      return 1;
    }
  queue = nfq_create_queue (handle, queue_num, on_packet, NULL);
  if (queue == NULL)
    {
      fprintf (stderr, "bench-delay: queue %d: %s\n", queue_num, strerror (errno));
      return 1;
    }
  if (nfq_set_mode (queue, NFQNL_COPY_META, 0) < 0
      || nfq_set_queue_maxlen (queue, QUEUE_MAXLEN) < 0)
    {
      fprintf (stderr, "bench-delay: queue settings: %s\n", strerror (errno));
      return 1;
    }
  /* Unsegmented GSO packets: without it the kernel cuts every 64 KiB one into MTU-sized
   * pieces for us. */
  nfq_set_queue_flags (queue, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  fd = nfq_fd (handle);
  nfnl_rcvbufsiz (nfq_nfnlh (handle), SOCKET_BUFFER);
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);
  printf ("bench-delay: queue %d, %.1f ms\n", queue_num, delay_ns / 1e6);
  fflush (stdout);

  while (!stopping)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      struct timespec timeout = { 0, 1000000 };
      ssize_t n;

      if (ring_head != ring_tail)
        {
          int64_t wait = ring[ring_head % RING_SIZE].due_ns - now_ns ();

          if (wait < 0)
            wait = 0;
          if (wait < 1000000)
            timeout = (struct timespec){ 0, wait };
        }
      if (ppoll (&pfd, 1, &timeout, NULL) < 0 && errno != EINTR)
        {
          fprintf (stderr, "bench-delay: ppoll: %s\n", strerror (errno));
          return 1;
        }
      while ((n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
        nfq_handle_packet (handle, buffer, (int) n);
      if (n < 0 && errno == ENOBUFS)
        fprintf (stderr, "bench-delay: the kernel dropped queue messages (ENOBUFS)\n");
      release_due (queue);
    }
  /* What is still held goes now, so nothing is left waiting on a queue nobody reads. */
  if (ring_head != ring_tail)
    nfq_set_verdict_batch (queue, ring[(ring_tail - 1) % RING_SIZE].id, NF_ACCEPT);
  printf ("bench-delay: %" PRIu64 " packets delayed, at most %" PRIu64 " held, %" PRIu64
          " let through undelayed (ring full)\n",
          packets, most_held, overflows);
  nfq_destroy_queue (queue);
  nfq_close (handle);
  return 0;
}
