/*
 * abuse_client.c - misbehaving clients for the demo server's robustness tests, with
 * plain sockets (no libuv), loopback only:
 *   abuse_client PORT reset N        N clients send 256 KiB each and reset (RST) mid-echo
 *   abuse_client PORT stall BYTES S  one client sends up to BYTES without ever reading,
 *                                    for at most S seconds, then holds S more and leaves
 *   abuse_client PORT halfclose N    send N bytes, shut down writing, read the echo to EOF
 *   abuse_client PORT silent N       N clients connect, send nothing and close
 * Exit status 0 when the scenario ran as described.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

static int connect_loopback(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
        perror("abuse_client: connect");
        exit(1);
    }
    return fd;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reset_clients(int n) {
    static char block[256 * 1024];
    memset(block, 'r', sizeof block);
    for (int i = 0; i < n; i++) {
        int fd = connect_loopback();
        ssize_t sent = send(fd, block, sizeof block, MSG_NOSIGNAL);
        (void)sent;
        struct linger hard = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        close(fd); /* RST while the server is still echoing */
    }
    printf("reset: %d clients sent 256 KiB and reset\n", n);
}

static void stall(long long bytes, double seconds) {
    int fd = connect_loopback();
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static char block[64 * 1024];
    memset(block, 's', sizeof block);
    long long sent = 0;
    double end = now() + seconds;
    while (sent < bytes && now() < end) {
        ssize_t n = send(fd, block, sizeof block, MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
        } else if (errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 100);
        } else {
            perror("abuse_client: send");
            exit(1);
        }
    }
    printf("stall: sent %lld bytes without reading; holding\n", sent);
    fflush(stdout);
    usleep((useconds_t)(seconds * 1e6));
    close(fd);
    printf("stall: closed\n");
}

static void half_close(size_t n) {
    int fd = connect_loopback();
    char* out = malloc(n);
    char* in = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)('a' + i % 26);
    }
    for (size_t done = 0; done < n;) {
        ssize_t k = send(fd, out + done, n - done, MSG_NOSIGNAL);
        if (k <= 0) {
            perror("abuse_client: send");
            exit(1);
        }
        done += (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    for (ssize_t k; (k = recv(fd, in + got, n + 1 - got, 0)) > 0;) {
        got += (size_t)k;
    }
    close(fd);
    if (got != n || memcmp(in, out, n) != 0) {
        fprintf(stderr, "halfclose: got %zu of %zu bytes back, or different\n", got, n);
        exit(1);
    }
    printf("halfclose: %zu bytes echoed, then EOF\n", n);
    free(out);
    free(in);
}

static void silent(int n) {
    int* fds = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        fds[i] = connect_loopback();
    }
    usleep(200000);
    for (int i = 0; i < n; i++) {
        close(fds[i]);
    }
    free(fds);
    printf("silent: %d clients connected and left without a byte\n", n);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: abuse_client PORT reset|stall|halfclose|silent ARG [SECONDS]\n");
        return 2;
    }
    port = atoi(argv[1]);
    const char* mode = argv[2];
    long long arg = atoll(argv[3]);
    if (strcmp(mode, "reset") == 0) {
        reset_clients((int)arg);
    } else if (strcmp(mode, "stall") == 0 && argc == 5) {
        stall(arg, atof(argv[4]));
    } else if (strcmp(mode, "halfclose") == 0) {
        half_close((size_t)arg);
    } else if (strcmp(mode, "silent") == 0) {
        silent((int)arg);
    } else {
        fprintf(stderr, "abuse_client: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
