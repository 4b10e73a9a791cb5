#include <new>

#include "access.hpp"
#include "plan_impl.hpp"

namespace edgeattn {
namespace {
const char* kind_name(PlanKind k) {
  switch (k) {
    case PlanKind::layer_run:
      return "a layer run (Layer::plan)";
    case PlanKind::layer_decode:
      return "a decode step (Layer::plan_decode)";
    case PlanKind::attention:
      return "the attention core (plan_attention)";
    case PlanKind::cached_attention:
      return "cached attention (plan_attention over a cache)";
  }
  return "?";
}
}  // namespace

std::unique_ptr<PlanImpl> PlanImpl::make(PlanKind kind, const void* owner) {
  std::unique_ptr<PlanImpl> p(new (std::nothrow) PlanImpl());
  if (p) {
    p->kind = kind;
    p->owner = owner;
  }
  return p;
}

Status PlanImpl::check(const Plan& plan, PlanKind kind, const void* owner, const PlanImpl** out) {
  const PlanImpl* p = detail::Access::impl(plan);
  if (!p)
    return Status::error(StatusCode::invalid_argument, "the plan is empty (no plan was made)");
  if (p->kind != kind)
    return Status::error(StatusCode::invalid_argument, "the plan is for %s, not %s",
                         kind_name(p->kind), kind_name(kind));
  if (p->owner != owner)
    return Status::error(StatusCode::invalid_argument, "the plan was made by another layer");
  *out = p;
  return Status();
}

void detail::Access::set(Plan* plan, std::unique_ptr<PlanImpl> impl) {
  plan->impl_ = std::move(impl);
}

Plan::Plan() = default;
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;
bool Plan::empty() const { return impl_ == nullptr; }
std::size_t Plan::workspace_size() const { return impl_ ? impl_->bytes : 0; }
int Plan::num_threads() const { return impl_ ? impl_->threads : 0; }

}  // namespace edgeattn
