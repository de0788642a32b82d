/* SPDX-License-Identifier: MIT */
/*
 * test_sim_exporter.c - cellgate-sim's Prometheus exporter (sim/exporter.c):
 * the series it keeps, their text format, and its HTTP/1.0 responder over
 * a real loopback socket (the integration test 60-rollout/04 has a real
 * Prometheus scrape it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testhelp.h"

#include "exporter.h"
#include "health.h"
#include "promtext.h"
#include "status.h"
#include "util.h"

static void window(struct model_window *w, uint64_t req, uint64_t err, double ms)
{
    memset(w, 0, sizeof *w);
    w->requests = req;
    w->errors = err;
    for (uint64_t i = 0; i < req; i++) {
        cg_hist_observe(&w->hist, ms);
    }
}

static void series_and_text(void **state)
{
    struct exporter *ex = NULL;
    struct model_window w;
    const char *cfg[] = {"feat", "other"};
    int64_t ver[] = {3, 1};
    struct cg_buf b = {0};
    char msg[256];
    struct cg_prom_set *set = NULL;
    struct cg_prom_error perr;

    (void)state;
    assert_int_equal(exporter_open("127.0.0.1:0", &ex, msg, sizeof msg), 0);
    assert_true(exporter_port(ex) > 0);
    window(&w, 10, 2, 3.0); /* bucket (2, 4]: midpoint 3 */
    assert_int_equal(exporter_served(ex, "c-b", cfg, ver, 2, &w), 0);
    window(&w, 5, 0, 3.0);
    assert_int_equal(exporter_served(ex, "c-b", cfg, ver, 1, &w), 0);
    window(&w, 4, 1, 3.0);
    assert_int_equal(exporter_served(ex, "c-a", NULL, NULL, 0, &w), 0);
    assert_int_equal(exporter_render(ex, &b), 0);

    /* sorted by cell, config, version; the no-config series is ("", 0) */
    assert_non_null(strstr(b.data, "# TYPE cellgate_sim_requests_total counter\n"
                                   "cellgate_sim_requests_total{cell=\"c-a\",config=\"\","
                                   "version=\"0\"} 4\n"
                                   "cellgate_sim_requests_total{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\"} 15\n"
                                   "cellgate_sim_requests_total{cell=\"c-b\",config=\"other\","
                                   "version=\"1\"} 10\n"));
    assert_non_null(strstr(b.data, "cellgate_sim_errors_total{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\"} 2\n"));
    assert_non_null(strstr(b.data, "cellgate_sim_latency_ms_bucket{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\",le=\"2\"} 0\n"
                                   "cellgate_sim_latency_ms_bucket{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\",le=\"4\"} 15\n"));
    assert_non_null(strstr(b.data, "cellgate_sim_latency_ms_bucket{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\",le=\"+Inf\"} 15\n"
                                   "cellgate_sim_latency_ms_sum{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\"} 45\n"
                                   "cellgate_sim_latency_ms_count{cell=\"c-b\",config=\"feat\","
                                   "version=\"3\"} 15\n"));
    /* and it is valid text format, as our own parser reads it */
    assert_int_equal(cg_prom_parse(b.data, b.len, NULL, &set, &perr), CG_OK);
    cg_prom_set_free(set);
    cg_buf_free(&b);
    exporter_free(ex);

    assert_int_equal(exporter_open("localhost:1", &ex, msg, sizeof msg), -1);
    assert_string_equal(msg, "--prom-listen: 'localhost:1' is not IPV4-ADDRESS:PORT");
    assert_int_equal(exporter_open("127.0.0.1", &ex, msg, sizeof msg), -1);
    assert_string_equal(msg, "--prom-listen: '127.0.0.1' is not ADDR:PORT");
}

/* Sends 'req' to the exporter and returns what it answers (malloc'd). */
static char *exchange(struct exporter *ex, const char *req)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct cg_buf out = {0};
    char buf[4096];

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(exporter_port(ex));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    /* the exporter answers from our polls; the answer ends with a close */
    for (int i = 0; i < 2000; i++) {
        ssize_t n;
        exporter_poll(ex, cg_mono_ms());
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            cg_buf_append(&out, buf, (size_t)n);
        } else if (n == 0) {
            break;
        } else {
            usleep(1000);
        }
    }
    close(fd);
    return out.data ? out.data : strdup("");
}

static void http_answers(void **state)
{
    struct exporter *ex = NULL;
    struct model_window w;
    char msg[256], *a;

    (void)state;
    assert_int_equal(exporter_open("127.0.0.1:0", &ex, msg, sizeof msg), 0);
    window(&w, 7, 0, 1.0);
    exporter_served(ex, "c1", NULL, NULL, 0, &w);
    a = exchange(ex, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(a, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4", 56) == 0);
    assert_non_null(strstr(a, "\r\nConnection: close\r\n\r\n# HELP"));
    assert_non_null(
        strstr(a, "cellgate_sim_requests_total{cell=\"c1\",config=\"\",version=\"0\"} 7\n"));
    free(a);
    a = exchange(ex, "GET /other HTTP/1.0\r\n\r\n");
    assert_string_equal(a, "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 14\r\nConnection: close\r\n\r\n404 Not Found\n");
    free(a);
    a = exchange(ex, "POST /metrics HTTP/1.0\r\n\r\n");
    assert_true(strncmp(a, "HTTP/1.0 405 Method Not Allowed\r\n", 33) == 0);
    free(a);
    exporter_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_and_text),
        cmocka_unit_test(http_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
