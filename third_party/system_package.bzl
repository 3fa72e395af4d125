"""system_package: a Debian library that ships a pkg-config file, as a cc_library.

Its include directories (pkg-config --cflags-only-I) are linked into the repository,
so that headers outside /usr/include (GLib's glibconfig.h lives under /usr/lib) are
declared inputs like any other; its link flags come from pkg-config --libs.
"""

def _words(text):
    return [word for word in text.replace("\n", " ").split(" ") if word]

def _target_name(repository_name):
    """The repository's apparent name, which names its library target.

    bzlmod gives a repository a canonical name such as `_main~system_packages~glib`
    (Bazel 7) or `+system_packages+glib`; WORKSPACE mode the plain name."""
    return repository_name.split("~")[-1].split("+")[-1]

def _system_package_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        fail("pkg-config is missing: run third_party/install_packages.sh")
    cflags = ctx.execute([pkg_config, "--cflags-only-I", ctx.attr.package])
    libs = ctx.execute([pkg_config, "--libs", ctx.attr.package])
    if cflags.return_code != 0 or libs.return_code != 0:
        fail("pkg-config does not know %s: install its -dev package" % ctx.attr.package)
    includes = []
    for flag in _words(cflags.stdout):
        directory = "include%d" % len(includes)
        ctx.symlink(flag[2:], directory)
        includes.append(directory)
    ctx.file("BUILD.bazel", """load("@rules_cc//cc:defs.bzl", "cc_library")

cc_library(
    name = "{name}",
    hdrs = glob([d + "/**/*.h" for d in {includes}]),
    includes = {includes},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(name = _target_name(ctx.name), includes = repr(includes), linkopts = repr(_words(libs.stdout))))

system_package = repository_rule(
    implementation = _system_package_impl,
    attrs = {"package": attr.string(mandatory = True, doc = "the pkg-config name")},
    local = True,
)

# The system libraries the benchmarks link against, by repository name: declared by
# the WORKSPACE (bench_system_packages()) and, under bzlmod, by the module extension
# in system_packages_extension.bzl.
BENCH_PACKAGES = {
    "apr": "apr-1",
    "glib": "glib-2.0",
    "talloc": "talloc",
}

def bench_system_packages():
    for name, package in BENCH_PACKAGES.items():
        system_package(name = name, package = package)
