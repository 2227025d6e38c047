// Shared by the buyer's commands and `probity devnet`: job requests from flags or a spec file,
// a job's view as JSON, and a progress bar through the lifecycle.
#pragma once

#include <string>
#include <vector>

#include "command.h"
#include "probity/buyer/buyer.h"
#include "probity/workloads/tensor.h"

namespace probity::cli {

// The flags RequestFromArgs reads.
std::vector<std::string> SpecFlags();
// --spec FILE (the text format of job_spec.h) or --kind with spec flags; for inference the
// model and the images come from --model and --images; plus --max-price, --verify,
// --self-verify, --deadline-blocks, --label.
Result<buyer::JobRequest> RequestFromArgs(const Args& args);

// Images for inference: an IDX file (gzip or plain, u8 [n, 28, 28]) or a tensor file
// (tensor.h's encoding); the first `count` images (0 = all).
Result<workloads::Tensor> LoadImages(const std::string& path, uint64_t count);

// An inference request for `model_file` on `images`, slices of `slice_size` (0 = the largest
// the model allows, at most 1000).
Result<buyer::JobRequest> InferRequest(const Bytes& model_file, const workloads::Tensor& images,
                                       uint32_t slice_size);

// Makes `b` able to verify its own jobs (--self-verify): the verifier's check, on the cpu
// backend, with the system's data sets.
void InstallSelfVerifier(buyer::Buyer& b);

std::string JobViewJson(const buyer::JobView& v);
XOnlyPubKey ToKey(const std::string& bytes32);
Hash256 ToHash(const std::string& bytes32);

// One line redrawn in place on a terminal (plain lines otherwise): the lifecycle's steps with
// the current one marked.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void Show(const buyer::JobView& v);
  void Done();

 private:
  bool enabled_;
  bool tty_;
  bool drawn_ = false;
};

}  // namespace probity::cli
