#include "engine/workspace.hpp"

#include <cstdint>

namespace edgeattn::engine {
namespace {
constexpr std::uint32_t kGuardWord = 0xE1A7C0DEu;

void fill_guard(float* at) {
  auto* w = reinterpret_cast<std::uint32_t*>(at);
  for (std::size_t i = 0; i < WorkspaceLayout::kGuardFloats; ++i) w[i] = kGuardWord;
}

bool guard_intact(const float* at) {
  const auto* w = reinterpret_cast<const std::uint32_t*>(at);
  for (std::size_t i = 0; i < WorkspaceLayout::kGuardFloats; ++i)
    if (w[i] != kGuardWord) return false;
  return true;
}
}  // namespace

void WorkspaceLayout::add_guard(const char* after) {
  if (!kCheckedArena || guards_ == kMaxGuards) return;
  guard_after_[guards_] = after;
  guard_at_[guards_++] = acc_.add({kGuardFloats});
}

std::size_t WorkspaceLayout::region(const char* name, std::initializer_list<std::size_t> factors) {
  const std::size_t at = acc_.add(factors);
  add_guard(name);
  return at;
}

std::size_t WorkspaceLayout::slots(const char* /*name*/, std::size_t floats, int count,
                                   std::size_t* stride) {
  slot_stride_ = round_up(floats, 16) + (kCheckedArena ? kGuardFloats : 0);
  slot_count_ = count;
  slot0_ = acc_.add({slot_stride_, static_cast<std::size_t>(count)});
  *stride = slot_stride_;
  return slot0_;
}

void WorkspaceLayout::arm(float* ws) const {
  if (!kCheckedArena) return;
  for (int g = 0; g < guards_; ++g) fill_guard(ws + guard_at_[g]);
  for (int s = 0; s < slot_count_; ++s)
    fill_guard(ws + slot0_ + (static_cast<std::size_t>(s) + 1) * slot_stride_ - kGuardFloats);
}

Status WorkspaceLayout::verify(const float* ws) const {
  if (!kCheckedArena) return Status();
  for (int g = 0; g < guards_; ++g)
    if (!guard_intact(ws + guard_at_[g]))
      return Status::error(StatusCode::internal,
                           "checked arena: guard after workspace region '%s' overwritten",
                           guard_after_[g]);
  for (int s = 0; s < slot_count_; ++s)
    if (!guard_intact(ws + slot0_ + (static_cast<std::size_t>(s) + 1) * slot_stride_ -
                      kGuardFloats))
      return Status::error(StatusCode::internal,
                           "checked arena: guard of scratch slot %d overwritten", s);
  return Status();
}

Status check_workspace(const void* workspace, std::size_t workspace_bytes,
                       const WorkspaceLayout& layout, const char* what, const char* shape) {
  if (!workspace) return Status::error(StatusCode::null_pointer, "workspace is null");
  if (reinterpret_cast<std::uintptr_t>(workspace) % kWorkspaceAlignment != 0)
    return Status::error(StatusCode::invalid_argument, "workspace must be %zu-byte aligned",
                         kWorkspaceAlignment);
  if (workspace_bytes < layout.bytes())
    return Status::error(StatusCode::workspace_too_small,
                         "workspace has %zu bytes, this %s needs %zu%s%s%s", workspace_bytes, what,
                         layout.bytes(), *shape ? " (" : "", shape, *shape ? ")" : "");
  return Status();
}

}  // namespace edgeattn::engine
