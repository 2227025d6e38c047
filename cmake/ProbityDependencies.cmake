# The node's dependencies, all from Debian's packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(Boost REQUIRED)
# TLS files are checked with OpenSSL (the library gRPC itself uses on Debian).
find_package(OpenSSL REQUIRED)
find_program(PROBITY_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
