/* handler_demo.c - serves a few requests with the toy handler and prints them. */
#include <stdio.h>

#include "request_handler.h"

int main(void) {
    Server server;
    if (!server_start(&server) || !server_set_route(&server, "/hello", "world") ||
        !server_set_route(&server, "/status", "ok")) {
        fprintf(stderr, "handler_demo: %s\n", mem_strerror(mem_last_error()));
        return 1;
    }
    const char* requests[] = {"GET /hello?name=ada HTTP/1.1", "GET /status HTTP/1.1", "GET /missing HTTP/1.1",
                              "garbage"};
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        char response[128];
        server_handle(&server, requests[i], response, sizeof response);
        printf("%-30s -> %s\n", requests[i], response);
    }
    return server_stop(&server) ? 0 : 1;
}
