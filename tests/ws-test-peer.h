/* ws-test-peer.h: what the WebSocket bridge's tests and benchmark share: a thread that
 * runs a bridge's main context, the HTTP/1.1 upgrade done by hand (the bridge starts
 * after it), libsoup peers on either side, a byte stream checked by SHA-256. */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "transport/cv-ws-bridge.h"

G_BEGIN_DECLS

/* A thread running its own main context, where bridges run. */
typedef struct {
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
} WsWorker;

WsWorker *ws_worker_new (const char *name);
/* Waits (bounded) for every bridge to end, then stops the thread. */
void ws_worker_free (WsWorker *worker);
/* Iterates the default context until @condition holds, waking every 2 ms so that what
 * other threads change is seen; FALSE after @timeout_ms. */
gboolean ws_wait_for (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms);
/* Iterates the default context until no bridge runs; FALSE after @timeout_ms. */
gboolean ws_wait_for_bridges_to_end (guint timeout_ms);

/* Two ends of a loopback TCP connection; @rcvbuf, @sndbuf: SO_RCVBUF of @server's end
 * and SO_SNDBUF of @client's, 0 for the kernel's. */
void ws_tcp_pair (GSocketConnection **client,
                  GSocketConnection **server,
                  int client_sndbuf,
                  int server_rcvbuf);

/* The upgrade, by hand.  Blocking: call from a thread of its own. */
char *ws_accept_for_key (const char *key);
/* Reads an HTTP head up to its blank line; what was read past it goes to @leftover. */
char *ws_read_http_head (GIOStream *stream, GBytes **leftover, GError **error);
gboolean ws_client_handshake (GIOStream *stream,
                              const char *host_port,
                              const char *path,
                              GBytes **leftover,
                              GError **error);
gboolean ws_server_handshake (GIOStream *stream, GBytes **leftover, GError **error);

/* A libsoup SoupServer with a WebSocket handler on /ws, and a bridge as its client; or
 * a bridge as a server and libsoup's SoupSession as its client. */
typedef struct {
  SoupServer *server;   /* bridge as client */
  SoupSession *session; /* bridge as server */
  SoupWebsocketConnection *soup;
  GSocketConnection *inner; /* the bridge's inner end */
} WsSoupPair;

/* @server_rcvbuf, @bridge_sndbuf: socket buffer sizes for the TCP connection, 0 for the
 * kernel's.  Iterates the default context (where libsoup runs) until connected. */
void ws_soup_pair_bridge_client (WsSoupPair *pair,
                                 WsWorker *worker,
                                 const CvWsBridgeOptions *options,
                                 int soup_rcvbuf,
                                 int bridge_sndbuf);
void ws_soup_pair_bridge_server (WsSoupPair *pair,
                                 WsWorker *worker,
                                 const CvWsBridgeOptions *options);
void ws_soup_pair_clear (WsSoupPair *pair);

/* A reproducible byte stream and its SHA-256. */
typedef struct {
  guint64 state;
  GChecksum *sha256;
  guint64 bytes;
  gboolean partial; /* the last piece ended inside a word */
} WsStream;

void ws_stream_init (WsStream *stream, guint64 seed);
void ws_stream_clear (WsStream *stream);
/* Fills @buffer with the stream's next bytes (and hashes them). */
void ws_stream_fill (WsStream *stream, guint8 *buffer, gsize len);
void ws_stream_hash (WsStream *stream, const guint8 *buffer, gsize len);
const char *ws_stream_digest (WsStream *stream);

/* Blocking: writes @total bytes of stream @seed to @connection and, if @shutdown, shuts
 * its writing down; returns the SHA-256 (in a thread: g_thread_join gives it). */
typedef struct {
  GSocketConnection *connection;
  guint64 seed;
  guint64 total;
  gboolean shutdown;
  gsize written; /* atomic: so far */
  char *digest;
  GThread *thread;
} WsWriter;

void ws_writer_start (WsWriter *writer,
                      GSocketConnection *connection,
                      guint64 seed,
                      guint64 total,
                      gboolean shutdown);
void ws_writer_join (WsWriter *writer);

/* Blocking: reads @connection until EOF or @total bytes, hashing. */
typedef struct {
  GSocketConnection *connection;
  guint64 total;
  gsize read; /* atomic: so far */
  gboolean eof;
  GError *error;
  char *digest;
  GThread *thread;
} WsReader;

void ws_reader_start (WsReader *reader, GSocketConnection *connection, guint64 total);
void ws_reader_join (WsReader *reader);

G_END_DECLS
