// The payment bench's native load generator (session 11): gRPC unary calls over one HTTP/2
// connection (libnghttp2), driven by epoll, with no garbage collector. What h2load or ghz would
// do, for a request stream neither can send: every create needs its own idempotency key, so the
// bodies are prepared by bench.ts and read from a file here. Why it exists: the Node load
// generator's own GC pauses (scavenges of 20–67 ms on a busy 2-core host, see the payment README,
// "Session 10") were charged to the service as latency, and it took 0.4–0.5 CPU-ms per create
// of the two cores the service runs on.
//
//   load-client --target HOST:PORT --path /pkg.Service/Method --bodies FILE
//               (--concurrency N --seconds S | --rate R --seconds S --lead-in-ms L)
//
// FILE holds gRPC messages as they go on the wire (a 5-byte prefix: flag 0, big-endian length;
// then the message), one after the other; each is sent once, in order. Closed loop
// (--concurrency): N calls in flight until S seconds have passed, then the ones in flight finish.
// Open loop (--rate): call i is due at start + i/R s, whatever the answers do; the first L ms of
// the schedule run unmeasured. A call succeeds when its answer is one well-formed message and
// grpc-status 0. The result is one JSON object on stdout: counts, the distinct error messages,
// the first answer's message (hex, for the caller to decode and check), this process's CPU
// seconds, and with --rate each measured call's send time, latency and send lag.
// Build: cc -O2 -o load-client load-client.c -lnghttp2 (Debian: libnghttp2-dev).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERROR_KINDS 5
#define ERROR_TEXT 240
#define FIRST_ANSWER_MAX 4096
// How long the ones in flight may take after the schedule or the closed loop's time is over.
#define ANSWER_GRACE_NS (30LL * 1000000000LL)

typedef struct {
  const uint8_t *body;
  size_t body_length;
  size_t body_sent;
  int64_t due_ns;   // open loop: when the schedule wants it sent
  int64_t sent_ns;  // when it was handed to the connection
  int64_t answered_ns;
  int grpc_status;  // -1 until a grpc-status header arrives
  char grpc_message[ERROR_TEXT];
  size_t answer_bytes;
  uint8_t answer_prefix[5];
  int done;
  int ok;
} call_t;

static struct {
  int fd;
  nghttp2_session *session;
  call_t *calls;
  size_t call_count;   // bodies available
  size_t submitted;
  size_t in_flight;
  size_t completed;    // answered with status 0 and a well-formed message
  size_t errors;
  char error_kinds[MAX_ERROR_KINDS][ERROR_TEXT];
  size_t error_kind_count;
  uint8_t first_answer[FIRST_ANSWER_MAX];
  size_t first_answer_length;
  int first_answer_kept;
  int want_write;
  const char *authority;
  const char *method_path;
} state;

static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "load-client: ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// The length in a gRPC message prefix (after the compressed flag): 4 bytes, big-endian.
static uint32_t message_length(const uint8_t *prefix) {
  return ((uint32_t)prefix[1] << 24) | ((uint32_t)prefix[2] << 16) | ((uint32_t)prefix[3] << 8) |
         prefix[4];
}

static void note_error(const char *text) {
  state.errors += 1;
  for (size_t i = 0; i < state.error_kind_count; i++)
    if (strcmp(state.error_kinds[i], text) == 0) return;
  if (state.error_kind_count < MAX_ERROR_KINDS)
    snprintf(state.error_kinds[state.error_kind_count++], ERROR_TEXT, "%s", text);
}

// --- nghttp2 callbacks ---------------------------------------------------------------------------

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data) {
  (void)session, (void)flags, (void)user_data;
  ssize_t written = send(state.fd, data, length, MSG_NOSIGNAL);
  if (written < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      state.want_write = 1;
      return NGHTTP2_ERR_WOULDBLOCK;
    }
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return written;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buffer,
                         size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                         void *user_data) {
  (void)session, (void)stream_id, (void)user_data;
  call_t *call = source->ptr;
  size_t left = call->body_length - call->body_sent;
  size_t chunk = left < length ? left : length;
  memcpy(buffer, call->body + call->body_sent, chunk);
  call->body_sent += chunk;
  if (call->body_sent == call->body_length) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)chunk;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t name_length, const uint8_t *value, size_t value_length, uint8_t flags,
                     void *user_data) {
  (void)flags, (void)user_data;
  call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (call == NULL) return 0;
  // The status comes in the trailers, or in the headers of an answer without a body.
  if (name_length == 11 && memcmp(name, "grpc-status", 11) == 0) {
    char digits[16];
    size_t n = value_length < sizeof digits - 1 ? value_length : sizeof digits - 1;
    memcpy(digits, value, n);
    digits[n] = 0;
    call->grpc_status = atoi(digits);
  } else if (name_length == 12 && memcmp(name, "grpc-message", 12) == 0) {
    size_t n = value_length < ERROR_TEXT - 1 ? value_length : ERROR_TEXT - 1;
    memcpy(call->grpc_message, value, n);
    call->grpc_message[n] = 0;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t length, void *user_data) {
  (void)flags, (void)user_data;
  call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
  if (call == NULL) return 0;
  for (size_t i = 0; i < length && call->answer_bytes + i < 5; i++)
    call->answer_prefix[call->answer_bytes + i] = data[i];
  // The first answer is kept whole, for the caller to decode: it shows these are the right bytes.
  if (!state.first_answer_kept && state.first_answer_length + length <= FIRST_ANSWER_MAX &&
      call == &state.calls[0]) {
    memcpy(state.first_answer + state.first_answer_length, data, length);
    state.first_answer_length += length;
  }
  call->answer_bytes += length;
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data) {
  (void)user_data;
  call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
  if (call == NULL || call->done) return 0;
  call->done = 1;
  call->answered_ns = now_ns();
  state.in_flight -= 1;
  char text[ERROR_TEXT + 64];
  uint32_t declared = message_length(call->answer_prefix);
  if (error_code != NGHTTP2_NO_ERROR) {
    snprintf(text, sizeof text, "stream reset (HTTP/2 error %u)", error_code);
    note_error(text);
  } else if (call->grpc_status < 0) {
    note_error("answer without grpc-status");
  } else if (call->grpc_status != 0) {
    snprintf(text, sizeof text, "gRPC status %d: %s", call->grpc_status, call->grpc_message);
    note_error(text);
  } else if (call->answer_bytes < 5 || declared != call->answer_bytes - 5) {
    snprintf(text, sizeof text, "malformed response (%zu bytes)", call->answer_bytes);
    note_error(text);
  } else {
    call->ok = 1;
    state.completed += 1;
  }
  if (call == &state.calls[0]) state.first_answer_kept = 1;
  return 0;
}

// --- connection ----------------------------------------------------------------------------------

static void connect_to(const char *target) {
  char host[256];
  const char *colon = strrchr(target, ':');
  if (colon == NULL || (size_t)(colon - target) >= sizeof host) die("bad --target %s", target);
  memcpy(host, target, (size_t)(colon - target));
  host[colon - target] = 0;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found;
  int failure = getaddrinfo(host, colon + 1, &hints, &found);
  if (failure != 0) die("cannot resolve %s: %s", target, gai_strerror(failure));
  state.fd = socket(found->ai_family, SOCK_STREAM, 0);
  if (state.fd < 0 || connect(state.fd, found->ai_addr, found->ai_addrlen) != 0)
    die("cannot connect to %s: %s", target, strerror(errno));
  freeaddrinfo(found);
  int on = 1;
  setsockopt(state.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  fcntl(state.fd, F_SETFL, fcntl(state.fd, F_GETFL) | O_NONBLOCK);

  nghttp2_session_callbacks *callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, on_send);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  if (nghttp2_session_client_new(&state.session, callbacks, NULL) != 0)
    die("nghttp2_session_client_new failed");
  nghttp2_session_callbacks_del(callbacks);
  // Large windows: the answers are small, but none should ever wait for a WINDOW_UPDATE.
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24},
  };
  nghttp2_submit_settings(state.session, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(state.session, NGHTTP2_FLAG_NONE, 0, 1 << 28);
}

static void flush(void) {
  state.want_write = 0;
  int failure = nghttp2_session_send(state.session);
  if (failure != 0) die("send failed: %s", nghttp2_strerror(failure));
}

static void submit_next(int64_t due_ns) {
  call_t *call = &state.calls[state.submitted];
  call->due_ns = due_ns;
  call->grpc_status = -1;
  static char timeout[] = "10000m";
  const nghttp2_nv headers[] = {
#define HEADER(name, value, length)                                                   \
  {(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (length),                 \
   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE}
      HEADER(":method", "POST", 4),
      HEADER(":scheme", "http", 4),
      HEADER(":authority", state.authority, strlen(state.authority)),
      HEADER(":path", state.method_path, strlen(state.method_path)),
      HEADER("content-type", "application/grpc", 16),
      HEADER("te", "trailers", 8),
      HEADER("grpc-timeout", timeout, sizeof timeout - 1),
#undef HEADER
  };
  nghttp2_data_provider body = {.source = {.ptr = call}, .read_callback = read_body};
  call->sent_ns = now_ns();
  int32_t stream = nghttp2_submit_request(state.session, NULL, headers,
                                          sizeof headers / sizeof headers[0], &body, call);
  if (stream < 0) die("submit failed: %s", nghttp2_strerror(stream));
  state.submitted += 1;
  state.in_flight += 1;
}

static void receive(void) {
  uint8_t buffer[65536];
  for (;;) {
    ssize_t length = recv(state.fd, buffer, sizeof buffer, 0);
    if (length < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (length < 0) die("recv failed: %s", strerror(errno));
    if (length == 0) die("the server closed the connection");
    ssize_t used = nghttp2_session_mem_recv(state.session, buffer, (size_t)length);
    if (used < 0) die("protocol error: %s", nghttp2_strerror((int)used));
  }
}

// --- main ------------------------------------------------------------------------------------------

static void load_bodies(const char *file) {
  FILE *input = fopen(file, "rb");
  if (input == NULL) die("cannot open %s: %s", file, strerror(errno));
  fseek(input, 0, SEEK_END);
  long size = ftell(input);
  fseek(input, 0, SEEK_SET);
  uint8_t *bytes = malloc((size_t)size);
  if (bytes == NULL || fread(bytes, 1, (size_t)size, input) != (size_t)size)
    die("cannot read %s", file);
  fclose(input);
  size_t count = 0;
  for (long at = 0; at + 5 <= size; count++) at += 5 + (long)message_length(bytes + at);
  state.calls = calloc(count, sizeof(call_t));
  if (state.calls == NULL) die("out of memory for %zu calls", count);
  long at = 0;
  for (size_t i = 0; i < count; i++) {
    size_t length = 5 + message_length(bytes + at);
    if (at + (long)length > size) die("%s: message %zu is cut off", file, i);
    state.calls[i].body = bytes + at;
    state.calls[i].body_length = length;
    at += (long)length;
  }
  state.call_count = count;
}

static void arm_timer(int timer, int64_t at_ns) {
  struct itimerspec spec = {.it_value = {.tv_sec = at_ns / 1000000000LL,
                                         .tv_nsec = at_ns % 1000000000LL}};
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void print_json_string(const char *text) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') printf("\\%c", *c);
    else if (*c < 0x20) printf("\\u%04x", *c);
    else putchar(*c);
  }
  putchar('"');
}

int main(int argc, char **argv) {
  const char *target = NULL, *bodies = NULL;
  long concurrency = 0, lead_in_ms = 0;
  double rate = 0, seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--target") == 0) target = argv[i + 1];
    else if (strcmp(argv[i], "--path") == 0) state.method_path = argv[i + 1];
    else if (strcmp(argv[i], "--bodies") == 0) bodies = argv[i + 1];
    else if (strcmp(argv[i], "--concurrency") == 0) concurrency = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--rate") == 0) rate = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--lead-in-ms") == 0) lead_in_ms = atol(argv[i + 1]);
    else die("unknown option %s", argv[i]);
  }
  if (target == NULL || state.method_path == NULL || bodies == NULL || seconds <= 0 ||
      (concurrency > 0) == (rate > 0))
    die("usage: --target HOST:PORT --path PATH --bodies FILE --seconds S "
        "(--concurrency N | --rate R [--lead-in-ms L])");
  state.authority = target;
  load_bodies(bodies);
  connect_to(target);

  int poller = epoll_create1(0);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event socket_event = {.events = EPOLLIN, .data.fd = state.fd};
  struct epoll_event timer_event = {.events = EPOLLIN, .data.fd = timer};
  epoll_ctl(poller, EPOLL_CTL_ADD, state.fd, &socket_event);
  epoll_ctl(poller, EPOLL_CTL_ADD, timer, &timer_event);
  int socket_wants_out = 0;

  const int open_loop = rate > 0;
  const int64_t interval_ns = open_loop ? (int64_t)(1e9 / rate) : 0;
  size_t scheduled = open_loop ? (size_t)(rate * (seconds + lead_in_ms / 1000.0) + 0.5) : 0;
  if (open_loop && scheduled > state.call_count)
    die("%zu calls scheduled, %zu bodies given", scheduled, state.call_count);
  const size_t lead_in_calls = open_loop ? (size_t)(rate * lead_in_ms / 1000.0 + 0.5) : 0;
  const int64_t start_ns = now_ns();
  const int64_t end_ns = start_ns + (int64_t)(seconds * 1e9);
  int bodies_ran_out = 0;

  if (open_loop) arm_timer(timer, start_ns);
  else
    while ((long)state.in_flight < concurrency && state.submitted < state.call_count)
      submit_next(0);
  flush();

  for (;;) {
    int64_t now = now_ns();
    int sending_over = open_loop ? state.submitted == scheduled : now >= end_ns;
    if (sending_over && state.in_flight == 0) break;
    if (sending_over && now >= (open_loop ? start_ns + (int64_t)scheduled * interval_ns : end_ns) +
                                    ANSWER_GRACE_NS)
      break;  // the ones still in flight are counted as errors below
    if (!open_loop && !sending_over) arm_timer(timer, end_ns);
    struct epoll_event events[4];
    int ready = epoll_wait(poller, events, 4, 1000);
    if (ready < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < ready; i++) {
      if (events[i].data.fd == timer) {
        uint64_t expirations;
        (void)!read(timer, &expirations, sizeof expirations);
      } else {
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) receive();
      }
    }
    now = now_ns();
    if (open_loop) {
      // Every call that is due goes now, late or not: the schedule does not wait for answers.
      while (state.submitted < scheduled &&
             start_ns + (int64_t)state.submitted * interval_ns <= now)
        submit_next(start_ns + (int64_t)state.submitted * interval_ns);
      if (state.submitted < scheduled)
        arm_timer(timer, start_ns + (int64_t)state.submitted * interval_ns);
    } else if (now < end_ns) {
      while ((long)state.in_flight < concurrency) {
        if (state.submitted == state.call_count) {
          bodies_ran_out = 1;
          break;
        }
        submit_next(0);
      }
    }
    flush();
    int wants_out = state.want_write || nghttp2_session_want_write(state.session);
    if (wants_out != socket_wants_out) {
      socket_event.events = EPOLLIN | (wants_out ? EPOLLOUT : 0);
      epoll_ctl(poller, EPOLL_CTL_MOD, state.fd, &socket_event);
      socket_wants_out = wants_out;
    }
  }
  if (state.in_flight > 0) {
    char text[64];
    for (size_t i = 0; i < state.in_flight; i++) {
      snprintf(text, sizeof text, "no answer within %lld s", ANSWER_GRACE_NS / 1000000000LL);
      note_error(text);
    }
  }

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                       (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  printf("{\"completed\":%zu,\"errors\":%zu,\"submitted\":%zu,\"bodiesRanOut\":%s,"
         "\"wallSeconds\":%.3f,\"cpuSeconds\":%.3f,\"errorMessages\":[",
         state.completed, state.errors, state.submitted, bodies_ran_out ? "true" : "false",
         (now_ns() - start_ns) / 1e9, cpu_seconds);
  for (size_t i = 0; i < state.error_kind_count; i++) {
    if (i > 0) putchar(',');
    print_json_string(state.error_kinds[i]);
  }
  printf("],\"firstAnswerHex\":\"");
  for (size_t i = 0; i < state.first_answer_length; i++) printf("%02x", state.first_answer[i]);
  printf("\"");
  if (open_loop) {
    // Per measured call: [sent ms after the measured start, latency ms from sending, lag ms of
    // the sending behind the schedule]; -1 latency for a call that failed.
    printf(",\"calls\":[");
    const int64_t measured_start_ns = start_ns + (int64_t)lead_in_calls * interval_ns;
    for (size_t i = lead_in_calls; i < state.submitted; i++) {
      const call_t *call = &state.calls[i];
      printf("%s[%.3f,%.3f,%.3f]", i > lead_in_calls ? "," : "",
             (call->sent_ns - measured_start_ns) / 1e6,
             call->ok ? (call->answered_ns - call->sent_ns) / 1e6 : -1.0,
             (call->sent_ns - call->due_ns) / 1e6);
    }
    printf("]");
  }
  printf("}\n");
  nghttp2_session_del(state.session);
  close(state.fd);
  return 0;
}
