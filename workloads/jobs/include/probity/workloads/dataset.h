// Labelled image data sets read from IDX files (the format of MNIST and Fashion-MNIST), and the
// catalog through which a job finds the data set its spec names by hash.
//
// IDX (http://yann.lecun.com/exdb/mnist/): big-endian
//   magic := 0x00 0x00 type:u8 ndims:u8      (type 0x08 = unsigned byte, the only one accepted)
//   dims  := ndims × u32 (big-endian), each > 0
//   data  := product(dims) bytes, row-major, and nothing after them
// An image file has ndims = 3 (count, rows, cols); a label file ndims = 1 (count). Files may be
// gzip-compressed (detected by the gzip magic); a build without zlib reads only uncompressed
// files and says so when given a compressed one.
//
// A data set is identified by its content, not by its file names or compression:
//   dataset id = tagged_hash("probity/dataset", u32 count || u32 rows || u32 cols ||
//                            u32 classes || images || labels)        (u32 little-endian)
// so a job spec that names a data set id binds exactly the pixels and labels it trains on.
//
// Thread-safety: a Dataset is immutable after loading; DataCatalog is safe to use from many
// threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::workloads {

// Number of classes of every classifier data set Probity serves (Fashion-MNIST: 10).
inline constexpr uint32_t kNumClasses = 10;

// Where Debian's `dataset-fashion-mnist` package installs the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct Dataset {
  uint32_t count = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  Bytes images;  // count × rows × cols pixels, row-major, 0..255
  Bytes labels;  // count labels, each < kNumClasses
  Hash256 id{};  // DatasetId(*this), set by the loaders

  uint32_t pixels_per_image() const { return rows * cols; }
};

// An IDX array of unsigned bytes.
struct IdxArray {
  std::vector<uint32_t> dims;
  Bytes data;
};

// Parses IDX bytes (already decompressed). kCorruption for a bad magic, an unsupported element
// type, a zero dimension, a size overflow, a truncated body or trailing bytes.
Result<IdxArray> ParseIdx(ByteView bytes);

// Reads a file, gunzipping it when it starts with the gzip magic. kNotFound when the file does
// not exist, kIOError when it cannot be read, kCorruption for a bad gzip stream,
// kResourceExhausted when it inflates beyond `max_bytes`, kUnsupported for a gzip file in a
// build without zlib.
Result<Bytes> ReadMaybeGzipFile(const std::string& path, size_t max_bytes = 256u << 20);
// Whether this build reads gzip files (it was built with zlib).
bool GzipSupported();

// Builds a data set from an image array (ndims 3) and a label array (ndims 1): the counts
// must agree and every label be < kNumClasses (else kCorruption).
Result<Dataset> MakeDataset(IdxArray images, IdxArray labels);

// Loads an image file and a label file (each gzip or plain IDX).
Result<Dataset> LoadIdxDataset(const std::string& images_path, const std::string& labels_path);

enum class FashionMnistSplit { kTrain, kTest };

// Loads Fashion-MNIST from `dir` ("<dir>/train-images-idx3-ubyte.gz" etc.; an uncompressed
// file without ".gz" is accepted too) and checks it against the published id of that split.
// A missing file is kNotFound naming the path and the Debian package dataset-fashion-mnist.
Result<Dataset> LoadFashionMnist(FashionMnistSplit split,
                                 const std::string& dir = kFashionMnistDir);

// The ids of Debian's Fashion-MNIST files (60,000 training and 10,000 test images).
Hash256 FashionMnistTrainId();
Hash256 FashionMnistTestId();

Hash256 DatasetId(uint32_t count, uint32_t rows, uint32_t cols, ByteView images, ByteView labels);

// Resolves data set ids to loaded data sets. Fashion-MNIST (both splits) is known by id and
// loaded from `fashion_mnist_dir` on first use; other data sets are added with Add.
class DataCatalog {
 public:
  explicit DataCatalog(std::string fashion_mnist_dir = kFashionMnistDir);

  // Registers a data set under its id (replacing nothing: adding the same id twice is a no-op).
  void Add(std::shared_ptr<const Dataset> dataset);

  // The data set with this id, loading Fashion-MNIST on demand. kNotFound for an id the
  // catalog does not know; the loader's error when Fashion-MNIST cannot be read.
  Result<std::shared_ptr<const Dataset>> Find(const Hash256& id);

  // A catalog shared by the process (Fashion-MNIST from kFashionMnistDir).
  static DataCatalog& Default();

 private:
  std::string fashion_mnist_dir_;
  std::mutex mu_;
  std::map<Hash256, std::shared_ptr<const Dataset>> sets_;
};

}  // namespace probity::workloads
