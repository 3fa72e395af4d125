# Builds and installs libmemkit without Bazel:
#   make install PREFIX=/usr/local           (thread-safe; needs liburcu-dev)
#   make install PREFIX=/opt/memkit THREAD_SAFE=0
# Installs lib/libmemkit.a, lib/libmemkit.so.$(VERSION) (soname libmemkit.so.$(MAJOR)),
# include/memkit.h + include/memkit/*.h and lib/pkgconfig/memkit.pc.
VERSION := 0.1.0
MAJOR := 0
PREFIX ?= /usr/local
THREAD_SAFE ?= 1
CC ?= cc
BUILD ?= build/make
LIBDIR := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include

SRCS := $(wildcard memkit/src/*.c)
OBJS := $(SRCS:memkit/src/%.c=$(BUILD)/%.o)
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) -std=c11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden -DMEMKIT_BUILDING \
              -DMEM_THREAD_SAFE=$(THREAD_SAFE) -Imemkit/include
ifeq ($(THREAD_SAFE),0)
LIBS :=
PC_CFLAGS := -DMEM_THREAD_SAFE=0
else
LIBS := -lurcu-bp -lurcu-common -pthread
PC_CFLAGS :=
endif

.PHONY: all install clean
all: $(BUILD)/libmemkit.a $(BUILD)/libmemkit.so.$(VERSION) $(BUILD)/memkit.pc

$(BUILD)/%.o: memkit/src/%.c $(wildcard memkit/src/*.h memkit/include/*.h memkit/include/memkit/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libmemkit.a: $(OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libmemkit.so.$(VERSION): $(OBJS)
	$(CC) -shared -Wl,-soname,libmemkit.so.$(MAJOR) -o $@ $^ $(LIBS)

$(BUILD)/memkit.pc: Makefile
	@mkdir -p $(BUILD)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: memkit' 'Description: memory management for multithreaded servers' 'Version: $(VERSION)' \
	  'Cflags: -I$${includedir} $(PC_CFLAGS)' 'Libs: -L$${libdir} -lmemkit' 'Libs.private: $(LIBS)' > $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/memkit
	install -m 644 $(BUILD)/libmemkit.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libmemkit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmemkit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmemkit.so.$(MAJOR)
	ln -sf libmemkit.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libmemkit.so
	install -m 644 memkit/include/memkit.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 memkit/include/memkit/*.h $(DESTDIR)$(INCLUDEDIR)/memkit/
	install -m 644 $(BUILD)/memkit.pc $(DESTDIR)$(LIBDIR)/pkgconfig/

clean:
	rm -rf $(BUILD)
