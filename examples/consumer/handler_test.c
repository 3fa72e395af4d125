/* handler_test.c - the toy handler's behaviour, and that it leaves the pool clean. */
#include <stdio.h>
#include <string.h>

#include "request_handler.h"

static int failures = 0;

static void expect(const char* request, int want_status, const char* want_body, Server* server) {
    char out[128];
    int got = server_handle(server, request, out, sizeof out);
    if (got != want_status || strcmp(out, want_body) != 0) {
        fprintf(stderr, "FAIL: %s -> %d '%s', expected %d '%s'\n", request, got, out, want_status, want_body);
        failures++;
    }
}

int main(void) {
    Server server;
    if (!server_start(&server) || !server_set_route(&server, "/a", "alpha")) {
        return 1;
    }
    expect("GET /a HTTP/1.1", 200, "200 alpha", &server);
    expect("GET /a?user=bob HTTP/1.1", 200, "200 alpha for bob", &server);
    expect("GET /b HTTP/1.1", 404, "404", &server);
    expect("POST /a HTTP/1.1", 400, "400", &server);
    expect("nonsense", 400, "400", &server);
    if (!server_set_route(&server, "/b", "beta")) {
        return 1;
    }
    expect("GET /b HTTP/1.1", 200, "200 beta", &server);
    for (int i = 0; i < 10000; i++) {  /* steady state: request arenas are reused */
        expect("GET /a?n=1 HTTP/1.1", 200, "200 alpha for 1", &server);
    }
    if (!server_stop(&server)) {
        fprintf(stderr, "FAIL: pool did not validate\n");
        failures++;
    }
    printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
