/* cv-tls-stream-private.h: what CvTlsStream's input and output streams call. */
#pragma once

#include <gnutls/gnutls.h>

#include "transport/cv-tls-stream.h"

G_BEGIN_DECLS

/* Shared by cv-tls-stream.c (the stream) and cv-tls-stream-handshake.c. */
struct _CvTlsStream {
  GIOStream parent_instance;

  GSocketConnection *base;
  GSocket *socket;
  GInputStream *input;
  GOutputStream *output;
  GMainContext *context; /* where the flush source runs */

  gnutls_session_t session;
  gnutls_certificate_credentials_t credentials;
  gboolean is_server;
  gboolean also_http; /* a server that also takes HTTPS: cv_tls_stream_set_also_http() */
  char *negotiated;   /* the protocol ALPN chose, once the handshake is done; NULL: none */

  guint8 *in_buffer; /* ciphertext read from the socket, not yet taken by GnuTLS;
                      * NULL while there is none (an idle link holds no buffer) */
  gsize in_start;
  gsize in_end;
  gboolean socket_eof;
  gboolean socket_drained; /* the last receive was short: the socket had no more */

  GByteArray *out_buffer; /* records GnuTLS made, not yet taken by the socket */
  gsize out_start;
  GSource *flush_source;

  GError *socket_error;         /* the first send or receive that failed */
  gboolean receive_after_error; /* socket_error is a send's: the peer's last words (an
                                 * alert before it closed) may still wait to be read */
  GError *read_error;           /* a TLS error met after some bytes were returned */
  gboolean handshake_done;
  gboolean tls_eof; /* close_notify received */

  /* The peer check, during the handshake. */
  CvTlsPeerCheckMode mode;
  GTlsDatabase *database; /* SYSTEM_CA (a client only): what the server's chain must
                           * validate against */
  char *server_name;      /* a client's SNI and, by CA, the name the server's certificate
                           * must be issued for; NULL: the tunnels' fixed SNI */
  gboolean peer_verified; /* SYSTEM_CA: the chain validated when it arrived */
  char *pinned;           /* NULL: any key (a server's "any client certificate") */
  char *peer_fingerprint; /* the key of the peer's certificate, once it arrived */
  char *peer_name;
  char *pin_key;
  char **authorized; /* NULL: the pin alone */
  char *authorized_key;
  char *alpn;
  GError *refusal;
};

gboolean cv_tls_stream_send_pending (CvTlsStream *self);
void cv_tls_stream_release_idle_input (CvTlsStream *self);
void cv_tls_stream_set_tls_error (CvTlsStream *self, int code, GError **error);
gboolean cv_tls_stream_gnutls_ok (int ret, const char *what, GError **error);

gssize cv_tls_stream_read_nonblocking (CvTlsStream *self,
                                       void *buffer,
                                       gsize count,
                                       GError **error);
gssize cv_tls_stream_write_nonblocking (CvTlsStream *self,
                                        const void *buffer,
                                        gsize count,
                                        GError **error);
gboolean cv_tls_stream_is_readable (CvTlsStream *self);
gboolean cv_tls_stream_is_writable (CvTlsStream *self);
GSource *cv_tls_stream_create_source (CvTlsStream *self,
                                      GObject *pollable,
                                      GIOCondition condition,
                                      GCancellable *cancellable);
gboolean cv_tls_stream_wait (CvTlsStream *self,
                             GIOCondition condition,
                             GCancellable *cancellable,
                             GError **error);
gboolean cv_tls_stream_flush_blocking (CvTlsStream *self,
                                       GCancellable *cancellable,
                                       GError **error);

/* The input and output streams (cv-tls-input-stream.c, cv-tls-output-stream.c). */
#define CV_TYPE_TLS_INPUT_STREAM (cv_tls_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (CvTlsInputStream, cv_tls_input_stream, CV, TLS_INPUT_STREAM, GInputStream)
#define CV_TYPE_TLS_OUTPUT_STREAM (cv_tls_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (CvTlsOutputStream, cv_tls_output_stream, CV, TLS_OUTPUT_STREAM, GOutputStream)

GInputStream *cv_tls_input_stream_new (CvTlsStream *owner);
GOutputStream *cv_tls_output_stream_new (CvTlsStream *owner);
/* The owner goes: later operations fail with G_IO_ERROR_CLOSED. */
void cv_tls_input_stream_detach (CvTlsInputStream *self);
void cv_tls_output_stream_detach (CvTlsOutputStream *self);

G_END_DECLS
