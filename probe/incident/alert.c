#include "autoconf.h"

#include "incident/alert.h"

/* libcurl's type-checking macros would hide the functions loaded below. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/dl.h"
#include "common/util.h"

/* libcurl, loaded when a webhook is configured (common/dl.h): it brings
 * some thirty libraries (TLS, Kerberos, LDAP...) that every other run would
 * load for nothing. */
#define CURLLIB_FUNCS(X)                                                                           \
    X(curl_global_init)                                                                            \
    X(curl_global_cleanup)                                                                         \
    X(curl_easy_init)                                                                              \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_strerror)                                                                          \
    X(curl_easy_cleanup)                                                                           \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)

static struct curllib_fns {
    CURLLIB_FUNCS(CW_DL_FIELD)
} curllib;

#define CURLLIB_SYM(f) CW_DL_SYM(struct curllib_fns, f)
static const cw_dlsym_t curllib_syms[] = { CURLLIB_FUNCS(CURLLIB_SYM) };
#undef CURLLIB_SYM

static bool curl_load(char *err, size_t errlen)
{
    static cw_dllib_t dl = CW_DLLIB(CURL_SONAME, "libcurl3-gnutls", curllib, curllib_syms);
    char why[400];

    if (cw_dl_load(&dl, why, sizeof(why)))
        return true;
    snprintf(err, errlen, "webhook: %s", why);
    return false;
}

#define WEBHOOK_TRIES  5
#define EXEC_TIMEOUT_S 30

struct job {
    json_t *incident;
    bool resolved;
    struct job *next;
};

struct bucket {
    double tokens;
    cw_ns_t last;
};

struct alert {
    bool syslog;
    char *webhook, *exec;
    char generator[1024]; /* the dashboard's URL, for generatorURL */
    long per_minute;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond, idle;
    struct job *head, *tail;
    bool stop, busy;
    bool running; /* the delivery thread was started */
    struct bucket rate[3];
    alert_stats_t st;
};

static void iso8601(double t, char *buf, size_t len)
{
    time_t s = (time_t)t;
    struct tm tm;
    int ms = (int)((t - (double)s) * 1000);

    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", ms < 0 ? 0 : ms);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

void alert_generator_base(const cw_config_t *cfg, char *out, size_t len)
{
    const char *listen = cfg->web_listen ? cfg->web_listen : CW_DEF_WEB_LISTEN;
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t n;

    if (cfg->web_external_url) {
        n = strlen(cfg->web_external_url);
        snprintf(out, len, "%s%s", cfg->web_external_url,
                 n && cfg->web_external_url[n - 1] == '/' ? "" : "/");
        return;
    }
    if (strcmp(listen, "off") == 0 || !colon) {
        snprintf(out, len, "http://%s/", CW_DEF_WEB_LISTEN);
        return;
    }
    /* A wildcard address is no place to go back to: the host's name is. */
    n = (size_t)(colon - listen);
    if ((n == 7 && strncmp(listen, "0.0.0.0", 7) == 0) ||
        (n == 4 && strncmp(listen, "[::]", 4) == 0)) {
        if (gethostname(host, sizeof(host) - 1) != 0)
            cw_strlcpy(host, "localhost", sizeof(host));
        host[sizeof(host) - 1] = '\0';
        snprintf(out, len, "%s://%s%s/", cfg->web_tls_cert ? "https" : "http", host, colon);
        return;
    }
    snprintf(out, len, "%s://%s/", cfg->web_tls_cert ? "https" : "http", listen);
}

json_t *alert_webhook_body(const json_t *inc, bool resolved, const char *base)
{
    const json_t *ev = json_object_get(inc, "evidence");
    const json_t *link = json_object_get(ev, "link"), *cpu = json_object_get(ev, "cpu");
    json_t *labels = json_object(), *ann = json_object(), *alert = json_object();
    char t[40], id[32], *full = json_dumps(inc, JSON_COMPACT);
    const char *kind = str(inc, "kind");

    /* alertname in Alertmanager's CamelCase habit. */
    json_object_set_new(labels, "alertname",
                        json_string(!strcmp(kind, "drops_with_congestion")
                                        ? "CallsDroppedWithCongestion"
                                    : !strcmp(kind, "congestion") ? "NetworkCongestion"
                                                                  : "CallDegradation"));
    json_object_set_new(
        labels, "severity",
        json_string(!strcmp(kind, "drops_with_congestion") ? "critical" : "warning"));
    json_object_set_new(labels, "kind", json_string(kind));
    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(inc, "id")));
    json_object_set_new(labels, "incident", json_string(id));
    json_object_set_new(labels, "job", json_string("callwatch"));
    if (json_is_string(json_object_get(inc, "site")))
        json_object_set_new(labels, "site", json_string(str(inc, "site")));
    if (json_is_object(link))
        json_object_set_new(labels, "link", json_string(str(link, "name")));
    if (json_is_object(cpu))
        json_object_set_new(labels, "device", json_string(str(cpu, "name")));
    json_object_set_new(ann, "summary", json_string(str(inc, "summary")));
    json_object_set_new(ann, "description", json_string(full ? full : "{}"));
    free(full);
    json_object_set_new(alert, "labels", labels);
    json_object_set_new(alert, "annotations", ann);
    iso8601(json_number_value(json_object_get(inc, "start")), t, sizeof(t));
    json_object_set_new(alert, "startsAt", json_string(t));
    if (resolved) {
        iso8601(json_number_value(json_object_get(inc, "end")), t, sizeof(t));
        json_object_set_new(alert, "endsAt", json_string(t));
    }
    {
        char url[1200];

        snprintf(url, sizeof(url), "%s#/incident/%s", base ? base : "http://" CW_DEF_WEB_LISTEN "/",
                 id);
        json_object_set_new(alert, "generatorURL", json_string(url));
    }
    return json_pack("[o]", alert);
}

static bool allow(alert_t *a, int channel)
{
    struct bucket *b = &a->rate[channel];
    cw_ns_t now = cw_wall_now();

    /* Token bucket: per_minute tokens, refilled continuously. */
    if (!b->last) {
        b->tokens = (double)a->per_minute;
    } else {
        b->tokens += (double)(now - b->last) / (60.0 * 1e9) * (double)a->per_minute;
        if (b->tokens > (double)a->per_minute)
            b->tokens = (double)a->per_minute;
    }
    b->last = now;
    if (b->tokens < 1) {
        a->st.rate_limited++;
        return false;
    }
    b->tokens -= 1;
    return true;
}

static void do_syslog(alert_t *a, const json_t *inc, bool resolved)
{
    const json_t *ev = json_object_get(inc, "evidence");
    const json_t *link = json_object_get(ev, "link"), *cpu = json_object_get(ev, "cpu");
    const json_t *top = json_array_get(json_object_get(inc, "top_talkers"), 0);

    (void)a;
    syslog(resolved ? LOG_NOTICE : LOG_WARNING,
           "incident=%lld state=%s kind=%s start=%.3f end=%.3f dropped_calls=%lld "
           "calls_affected=%lld link=%s link_util_max_pct=%.1f cpu=%s cpu_max_pct=%.1f "
           "top_talker=\"%s\" summary=\"%s\"",
           (long long)json_integer_value(json_object_get(inc, "id")),
           resolved ? "resolved" : "open", str(inc, "kind"),
           json_number_value(json_object_get(inc, "start")),
           json_number_value(json_object_get(inc, "end")),
           (long long)json_integer_value(json_object_get(inc, "dropped_calls")),
           (long long)json_integer_value(json_object_get(inc, "calls_affected")),
           json_is_object(link) ? str(link, "name") : "-",
           json_is_object(link) ? json_number_value(json_object_get(link, "util_max_pct")) : 0.0,
           json_is_object(cpu) ? str(cpu, "name") : "-",
           json_is_object(cpu) ? json_number_value(json_object_get(cpu, "max_pct")) : 0.0,
           top ? str(top, "summary") : "", str(inc, "summary"));
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static bool do_webhook(alert_t *a, const json_t *inc, bool resolved)
{
    json_t *body = alert_webhook_body(inc, resolved, a->generator);
    char *text = json_dumps(body, JSON_COMPACT);
    struct curl_slist *hdr = curllib.curl_slist_append(NULL, "Content-Type: application/json");
    bool ok = false;

    for (int attempt = 0; attempt < WEBHOOK_TRIES && !ok; attempt++) {
        CURL *c = curllib.curl_easy_init();
        long code = 0;
        CURLcode rc;

        if (attempt) {
            /* Back off 1, 2, 4, 8 s, waking early if told to stop. */
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1L << (attempt - 1);
            pthread_mutex_lock(&a->lock);
            while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &until) != ETIMEDOUT)
                ;
            pthread_mutex_unlock(&a->lock);
            if (a->stop) {
                curllib.curl_easy_cleanup(c);
                break;
            }
        }
        curllib.curl_easy_setopt(c, CURLOPT_URL, a->webhook);
        curllib.curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curllib.curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curllib.curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curllib.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curllib.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        rc = curllib.curl_easy_perform(c);
        if (rc == CURLE_OK)
            curllib.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK && code >= 200 && code < 300)
            ok = true;
        else if (attempt == 0 && rc == CURLE_OK)
            cw_log(CW_LOG_WARN, "webhook %s: HTTP status %ld; retrying", a->webhook, code);
        else if (attempt == 0)
            cw_log(CW_LOG_WARN, "webhook %s: %s; retrying", a->webhook,
                   curllib.curl_easy_strerror(rc));
        curllib.curl_easy_cleanup(c);
    }
    if (!ok)
        cw_log(CW_LOG_ERR, "webhook %s: incident %lld not delivered after %d tries", a->webhook,
               (long long)json_integer_value(json_object_get(inc, "id")), WEBHOOK_TRIES);
    curllib.curl_slist_free_all(hdr);
    free(text);
    json_decref(body);
    return ok;
}

/* The set of SIGPIPE alone. */
static sigset_t sigpipe_set(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
}

static bool do_exec(alert_t *a, const json_t *inc, bool resolved)
{
    char *text = json_dumps(inc, JSON_COMPACT);
    int fds[2];
    pid_t pid;
    int status = 0;
    size_t len = text ? strlen(text) : 0, off = 0;
    char idbuf[32];

    if (!text || pipe(fds) != 0) {
        free(text);
        return false;
    }
    snprintf(idbuf, sizeof(idbuf), "%lld",
             (long long)json_integer_value(json_object_get(inc, "id")));
    pid = fork();
    if (pid == 0) {
        sigset_t pipe_sig = sigpipe_set();

        /* The program starts with SIGPIPE as a program expects it. */
        pthread_sigmask(SIG_UNBLOCK, &pipe_sig, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(fds[0], STDIN_FILENO);
        close(fds[0]);
        close(fds[1]);
        setenv("CALLWATCH_EVENT", resolved ? "resolved" : "open", 1);
        setenv("CALLWATCH_INCIDENT", idbuf, 1);
        setenv("CALLWATCH_KIND", str(inc, "kind"), 1);
        execl(a->exec, a->exec, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        free(text);
        cw_log(CW_LOG_ERR, "exec %s: %s", a->exec, strerror(errno));
        return false;
    }
    while (off < len) {
        ssize_t w = write(fds[1], text + off, len - off);

        if (w <= 0)
            break; /* the program did not read it all: its business */
        off += (size_t)w;
    }
    if (off < len) {
        /* A write to a pipe nobody reads raised SIGPIPE, blocked in this
         * thread (see worker()): take it. */
        sigset_t pipe_sig = sigpipe_set();
        struct timespec zero = { 0, 0 };

        while (sigtimedwait(&pipe_sig, NULL, &zero) == SIGPIPE)
            ;
    }
    close(fds[1]);
    free(text);
    for (int waited = 0;; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        if (r < 0 || waited >= EXEC_TIMEOUT_S * 10) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cw_log(CW_LOG_ERR, "exec %s: killed after %d s", a->exec, EXEC_TIMEOUT_S);
            return false;
        }
        usleep(100000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cw_log(CW_LOG_ERR, "exec %s: %s %d", a->exec,
               WIFEXITED(status) ? "exited with status" : "killed by signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return false;
    }
    return true;
}

static void *worker(void *arg)
{
    alert_t *a = arg;
    sigset_t pipe_sig = sigpipe_set();

    /* An exec'd program that exits without reading its input must not
     * kill callwatch when the incident is written to it: SIGPIPE is
     * blocked here, whatever the process does with it, and the write
     * fails with EPIPE instead. */
    pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL);

    pthread_mutex_lock(&a->lock);
    for (;;) {
        struct job *j;
        bool ok = true, sent = false;

        while (!a->head && !a->stop)
            pthread_cond_wait(&a->cond, &a->lock);
        if (!a->head)
            break;
        j = a->head;
        a->head = j->next;
        if (!a->head)
            a->tail = NULL;
        a->busy = true;
        pthread_mutex_unlock(&a->lock);

        if (a->syslog && allow(a, 0)) {
            do_syslog(a, j->incident, j->resolved);
            sent = true;
        }
        if (a->webhook && allow(a, 1)) {
            ok = do_webhook(a, j->incident, j->resolved) && ok;
            sent = true;
        }
        if (a->exec && allow(a, 2)) {
            ok = do_exec(a, j->incident, j->resolved) && ok;
            sent = true;
        }
        json_decref(j->incident);
        free(j);

        pthread_mutex_lock(&a->lock);
        a->busy = false;
        if (!ok)
            a->st.failed++;
        else if (sent)
            a->st.delivered++;
        pthread_cond_broadcast(&a->idle);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int alert_new(const cw_config_t *cfg, alert_t **out, char *err, size_t errlen)
{
    alert_t *a;
    int rc;

    *out = NULL;
    if (!cfg->alert_syslog && !cfg->alert_webhook && !cfg->alert_exec)
        return 0;
    if (cfg->alert_webhook && !curl_load(err, errlen))
        return -ENOENT;
    a = cw_calloc(1, sizeof(*a));
    a->syslog = cfg->alert_syslog;
    a->webhook = cw_strdup(cfg->alert_webhook);
    a->exec = cw_strdup(cfg->alert_exec);
    a->per_minute = cfg->alert_rate_limit > 0 ? cfg->alert_rate_limit : CW_DEF_ALERT_RATE_LIMIT;
    alert_generator_base(cfg, a->generator, sizeof(a->generator));
    if (a->syslog)
        openlog("callwatch", LOG_PID, LOG_DAEMON);
    if (a->webhook)
        curllib.curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    pthread_cond_init(&a->idle, NULL);
    if ((rc = pthread_create(&a->thread, NULL, worker, a)) != 0) {
        snprintf(err, errlen, "alert: cannot start the delivery thread: %s", strerror(rc));
        alert_free(a);
        return -rc;
    }
    a->running = true;
    pthread_setname_np(a->thread, "cw-alert");
    *out = a;
    return 0;
}

void alert_incident(alert_t *a, const json_t *incident, bool resolved)
{
    struct job *j;

    if (!a)
        return;
    j = cw_calloc(1, sizeof(*j));
    j->incident = json_deep_copy(incident);
    j->resolved = resolved;
    pthread_mutex_lock(&a->lock);
    if (a->tail)
        a->tail->next = j;
    else
        a->head = j;
    a->tail = j;
    a->st.queued++;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

bool alert_flush(alert_t *a, int timeout_ms)
{
    struct timespec until;
    bool done;

    if (!a)
        return true;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->lock);
    while ((a->head || a->busy) && pthread_cond_timedwait(&a->idle, &a->lock, &until) != ETIMEDOUT)
        ;
    done = !a->head && !a->busy;
    pthread_mutex_unlock(&a->lock);
    return done;
}

void alert_free(alert_t *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (a->running)
        pthread_join(a->thread, NULL);
    while (a->head) {
        struct job *j = a->head;

        a->head = j->next;
        json_decref(j->incident);
        free(j);
        a->st.failed++;
    }
    if (a->syslog)
        closelog();
    if (a->webhook)
        curllib.curl_global_cleanup();
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    pthread_cond_destroy(&a->idle);
    free(a->webhook);
    free(a->exec);
    free(a);
}

void alert_get_stats(alert_t *a, alert_stats_t *out)
{
    pthread_mutex_lock(&a->lock);
    *out = a->st;
    pthread_mutex_unlock(&a->lock);
}
