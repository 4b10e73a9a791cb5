// The workspace ("arena") of one run, laid out once when a plan is made: named regions one
// after another, each 64-byte aligned, and per-thread scratch slots. Every front-end (layer,
// attention core, cached attention, decode) plans through this one type and checks the
// caller's buffer with the one check_workspace(), so the rules cannot drift apart.
//
// Checked-arena builds (EDGEATTN_CHECKED_ARENA) put a guard after every region and at the end
// of every slot, arm them before a run and verify them after it: a kernel writing past its
// region is reported as a status instead of corrupting a neighbour silently.
#pragma once

#include <cstddef>
#include <initializer_list>

#include "edgeattn/edgeattn.hpp"
#include "size_math.hpp"

namespace edgeattn::engine {

inline constexpr bool kCheckedArena =
#if defined(EDGEATTN_CHECKED_ARENA)
    true;
#else
    false;
#endif

class WorkspaceLayout {
 public:
  static constexpr std::size_t kGuardFloats = 16;
  static constexpr int kMaxGuards = 8;

  // A region of the product of `factors` floats; returns its offset in floats.
  std::size_t region(const char* name, std::initializer_list<std::size_t> factors);
  // `count` slots of `floats` each (one per thread); returns the offset of slot 0 and sets the
  // distance between slots (which includes the slot's guard in checked builds).
  std::size_t slots(const char* name, std::size_t floats, int count, std::size_t* stride);

  std::size_t total_floats() const { return acc_.total(); }
  std::size_t bytes() const { return acc_.total() * sizeof(float); }
  bool overflowed() const { return acc_.overflowed(); }

  void arm(float* workspace) const;             // checked builds: fill the guards
  Status verify(const float* workspace) const;  // checked builds: report an overwritten guard

 private:
  void add_guard(const char* after);
  SizeAccumulator acc_;
  std::size_t guard_at_[kMaxGuards] = {};
  const char* guard_after_[kMaxGuards] = {};
  int guards_ = 0;
  std::size_t slot0_ = 0, slot_stride_ = 0;
  int slot_count_ = 0;
};

// The one workspace check every run makes before it writes anything: non-null, aligned to
// kWorkspaceAlignment, and at least layout.bytes() long. `what` names the run in the message,
// `shape` (may be empty) says what it was planned for.
Status check_workspace(const void* workspace, std::size_t workspace_bytes,
                       const WorkspaceLayout& layout, const char* what, const char* shape = "");

}  // namespace edgeattn::engine
