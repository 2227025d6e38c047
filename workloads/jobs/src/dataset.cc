#include "probity/workloads/dataset.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

#if PROBITY_HAVE_ZLIB
#include <zlib.h>
#endif

namespace probity::workloads {
namespace {

uint32_t GetU32BE(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool IsGzip(ByteView b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

Result<Bytes> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound("no such file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  Bytes out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read " + path);
  return out;
}

#if PROBITY_HAVE_ZLIB
Result<Bytes> Gunzip(ByteView in, size_t max_bytes, const std::string& what) {
  z_stream zs{};
  // 15 + 16: a gzip wrapper (not zlib, not raw deflate).
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::Internal("inflateInit2 failed");
  Bytes out;
  out.resize(std::min<size_t>(max_bytes, std::max<size_t>(in.size() * 4, 1 << 16)));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        inflateEnd(&zs);
        return Status::ResourceExhausted(what + ": inflates beyond " + std::to_string(max_bytes) +
                                         " bytes");
      }
      out.resize(std::min(max_bytes, out.size() * 2));
    }
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      return Status::Corruption(what + ": truncated gzip stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg ? zs.msg : "inflate error " + std::to_string(rc);
      inflateEnd(&zs);
      return Status::Corruption(what + ": bad gzip stream: " + msg);
    }
  }
  bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing) return Status::Corruption(what + ": bytes after the end of the gzip stream");
  out.resize(produced);
  return out;
}
#endif

Status CheckDims(const IdxArray& a, size_t ndims, const char* what) {
  if (a.dims.size() != ndims) {
    return Status::Corruption(std::string(what) + ": expected an IDX array of " +
                              std::to_string(ndims) + " dimensions, got " +
                              std::to_string(a.dims.size()));
  }
  return Status::OK();
}

}  // namespace

Result<IdxArray> ParseIdx(ByteView bytes) {
  if (bytes.size() < 4) return Status::Corruption("IDX: shorter than its 4-byte magic");
  if (bytes[0] != 0 || bytes[1] != 0) {
    return Status::Corruption("IDX: bad magic (first two bytes must be zero)");
  }
  if (bytes[2] != 0x08) {
    return Status::Corruption("IDX: unsupported element type 0x" + ToHex(bytes.subspan(2, 1)) +
                              " (only 0x08, unsigned byte)");
  }
  const size_t ndims = bytes[3];
  if (ndims == 0) return Status::Corruption("IDX: zero dimensions");
  if (bytes.size() < 4 + 4 * ndims) return Status::Corruption("IDX: truncated dimension list");
  IdxArray a;
  uint64_t total = 1;
  for (size_t i = 0; i < ndims; ++i) {
    uint32_t d = GetU32BE(bytes.data() + 4 + 4 * i);
    if (d == 0) return Status::Corruption("IDX: dimension " + std::to_string(i) + " is zero");
    total *= d;
    if (total > (uint64_t{1} << 32)) return Status::Corruption("IDX: array larger than 4 GiB");
    a.dims.push_back(d);
  }
  const size_t header = 4 + 4 * ndims;
  const size_t body = bytes.size() - header;
  if (body < total) {
    return Status::Corruption("IDX: truncated: dimensions need " + std::to_string(total) +
                              " bytes, file has " + std::to_string(body));
  }
  if (body > total) {
    return Status::Corruption("IDX: " + std::to_string(body - total) +
                              " trailing bytes after the array");
  }
  a.data.assign(bytes.begin() + header, bytes.end());
  return a;
}

Result<Bytes> ReadMaybeGzipFile(const std::string& path, size_t max_bytes) {
  PROBITY_ASSIGN_OR_RETURN(Bytes raw, ReadWholeFile(path));
  if (!IsGzip(raw)) {
    if (raw.size() > max_bytes) {
      return Status::ResourceExhausted(path + ": larger than " + std::to_string(max_bytes) +
                                       " bytes");
    }
    return raw;
  }
#if PROBITY_HAVE_ZLIB
  return Gunzip(raw, max_bytes, path);
#else
  return Status::Unsupported(path +
                             " is gzip-compressed and this build has no zlib: "
                             "decompress it (gunzip -k) and give the uncompressed file");
#endif
}

bool GzipSupported() {
#if PROBITY_HAVE_ZLIB
  return true;
#else
  return false;
#endif
}

Hash256 DatasetId(uint32_t count, uint32_t rows, uint32_t cols, ByteView images, ByteView labels) {
  Sha256Hasher h = TaggedHasher("probity/dataset");
  uint8_t head[16];
  PutU32LE(head, count);
  PutU32LE(head + 4, rows);
  PutU32LE(head + 8, cols);
  PutU32LE(head + 12, kNumClasses);
  h.Update(ByteView(head, 16));
  h.Update(images);
  h.Update(labels);
  return h.Final();
}

Result<Dataset> MakeDataset(IdxArray images, IdxArray labels) {
  PROBITY_RETURN_IF_ERROR(CheckDims(images, 3, "images"));
  PROBITY_RETURN_IF_ERROR(CheckDims(labels, 1, "labels"));
  if (images.dims[0] != labels.dims[0]) {
    return Status::Corruption("data set has " + std::to_string(images.dims[0]) + " images but " +
                              std::to_string(labels.dims[0]) + " labels");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= kNumClasses) {
      return Status::Corruption("label " + std::to_string(i) + " is " +
                                std::to_string(labels.data[i]) + ", not a class below " +
                                std::to_string(kNumClasses));
    }
  }
  Dataset d;
  d.count = images.dims[0];
  d.rows = images.dims[1];
  d.cols = images.dims[2];
  d.images = std::move(images.data);
  d.labels = std::move(labels.data);
  d.id = DatasetId(d.count, d.rows, d.cols, d.images, d.labels);
  return d;
}

Result<Dataset> LoadIdxDataset(const std::string& images_path, const std::string& labels_path) {
  PROBITY_ASSIGN_OR_RETURN(Bytes ib, ReadMaybeGzipFile(images_path));
  auto images = ParseIdx(ib);
  if (!images.ok()) return images.status().WithContext(images_path);
  PROBITY_ASSIGN_OR_RETURN(Bytes lb, ReadMaybeGzipFile(labels_path));
  auto labels = ParseIdx(lb);
  if (!labels.ok()) return labels.status().WithContext(labels_path);
  auto d = MakeDataset(std::move(images).value(), std::move(labels).value());
  if (!d.ok()) return d.status().WithContext(images_path);
  return d;
}

namespace {
// Prefers "<dir>/<name>.gz", falls back to an uncompressed "<dir>/<name>".
Result<std::string> FindFashionFile(const std::string& dir, const std::string& name) {
  std::error_code ec;
  std::string gz = dir + "/" + name + ".gz";
  if (std::filesystem::exists(gz, ec)) return gz;
  std::string plain = dir + "/" + name;
  if (std::filesystem::exists(plain, ec)) return plain;
  return Status::NotFound("Fashion-MNIST not found: " + gz +
                          " does not exist (install the Debian package dataset-fashion-mnist)");
}
}  // namespace

Result<Dataset> LoadFashionMnist(FashionMnistSplit split, const std::string& dir) {
  const bool train = split == FashionMnistSplit::kTrain;
  const std::string prefix = train ? "train" : "t10k";
  PROBITY_ASSIGN_OR_RETURN(std::string ip, FindFashionFile(dir, prefix + "-images-idx3-ubyte"));
  PROBITY_ASSIGN_OR_RETURN(std::string lp, FindFashionFile(dir, prefix + "-labels-idx1-ubyte"));
  PROBITY_ASSIGN_OR_RETURN(Dataset d, LoadIdxDataset(ip, lp));
  const Hash256 want = train ? FashionMnistTrainId() : FashionMnistTestId();
  if (d.id != want) {
    return Status::Corruption("Fashion-MNIST " + prefix + " files in " + dir + " have id " +
                              ToHex(d.id) + ", not the published " + ToHex(want));
  }
  return d;
}

// Computed from the files of Debian's dataset-fashion-mnist (the published Zalando release).
Hash256 FashionMnistTrainId() {
  return Hash256FromHex("1303e628082d6163b7b9c5565d17daac8e15b11fecb6e57261745f2644495ae8").value();
}
Hash256 FashionMnistTestId() {
  return Hash256FromHex("7f5576d82fa989c4978a96783dab6d029d4319c80b3687d45910756e35c75afa").value();
}

DataCatalog::DataCatalog(std::string fashion_mnist_dir)
    : fashion_mnist_dir_(std::move(fashion_mnist_dir)) {}

void DataCatalog::Add(std::shared_ptr<const Dataset> dataset) {
  std::lock_guard<std::mutex> lock(mu_);
  sets_.emplace(dataset->id, std::move(dataset));
}

Result<std::shared_ptr<const Dataset>> DataCatalog::Find(const Hash256& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sets_.find(id);
  if (it != sets_.end()) return it->second;
  FashionMnistSplit split;
  if (id == FashionMnistTrainId()) {
    split = FashionMnistSplit::kTrain;
  } else if (id == FashionMnistTestId()) {
    split = FashionMnistSplit::kTest;
  } else {
    return Status::NotFound("unknown data set " + ToHex(id));
  }
  PROBITY_ASSIGN_OR_RETURN(Dataset d, LoadFashionMnist(split, fashion_mnist_dir_));
  auto p = std::make_shared<const Dataset>(std::move(d));
  sets_.emplace(id, p);
  return p;
}

DataCatalog& DataCatalog::Default() {
  static DataCatalog catalog;
  return catalog;
}

}  // namespace probity::workloads
