"""The benchmarks' system libraries (system_package.bzl) as a bzlmod module extension.

Kept apart from system_package.bzl, which Bazel 4.2.3's WORKSPACE loads and which
therefore may not use module_extension."""

load(":system_package.bzl", "bench_system_packages")

def _system_packages_impl(_module_ctx):
    bench_system_packages()

system_packages = module_extension(implementation = _system_packages_impl)
