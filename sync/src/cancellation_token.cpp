// SPDX-License-Identifier: MIT
// cancellation_token: a tree of states. A child keeps its parent alive and
// is listed (weakly) in the parent, so cancel() walks down the tree; a child
// that dies unlists itself. Lock order: parent before child is never needed:
// cancel() collects the children under the parent's lock and cancels them
// after releasing it.
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/cancellation_token.hpp"

#include <atomic>
#include <list>
#include <vector>

#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync {

namespace detail {

class token_state {
 public:
  token_state() = default;
  token_state(const token_state&) = delete;
  token_state& operator=(const token_state&) = delete;
  ~token_state() {
    if (parent_) {
      spin_guard lk(parent_->lock_);
      parent_->children_.erase(pos_);
    }
  }

  // link_child() lists `child` or, when this token is cancelled already,
  // returns false so the caller starts the child cancelled.
  bool link_child(const std::shared_ptr<token_state>& self,
                  const std::shared_ptr<token_state>& child) {
    spin_guard lk(lock_);
    if (cancelled_.load(std::memory_order_relaxed)) return false;
    child->pos_ = children_.insert(children_.end(), child);
    child->parent_ = self;  // from now on the child unlists itself on death
    return true;
  }

  void cancel() noexcept {
    std::vector<std::shared_ptr<token_state>> kids;
    {
      spin_guard lk(lock_);
      if (cancelled_.load(std::memory_order_relaxed)) return;
      cancelled_.store(true, std::memory_order_release);
      (void)waiters_.wake_all();
      // (An allocation failure here terminates: cancel() is noexcept.)
      kids.reserve(children_.size());
      for (auto& weak : children_) {
        if (auto k = weak.lock()) kids.push_back(std::move(k));
      }
    }
    for (auto& k : kids) k->cancel();
  }

  bool is_cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  result<void> wait(std::int64_t deadline_ns) {
    spin_guard lk(lock_);
    for (;;) {
      if (cancelled_.load(std::memory_order_relaxed)) return {};
      weft::detail::wait_label label("cancellation token wait", this, deadline_ns);
      waiter w;
      wait_list::node n(w);
      const wake_reason why = park_node(waiters_, n, lk, deadline_ns);
      if (n.fired) return {};
      if (why == wake_reason::timeout) return make_error_code(errc::timeout);
    }
  }

  poll select_try() const noexcept { return is_cancelled() ? poll::ready : poll::pending; }
  poll select_arm(waiter& w, wait_list::node& n) noexcept {
    spin_guard lk(lock_);
    if (cancelled_.load(std::memory_order_relaxed)) {
      return claim_self(w) ? poll::ready : poll::pending;
    }
    n.fired = false;
    waiters_.push_back(n);
    return poll::pending;
  }
  // A cancellation wakes every waiter: nothing to give back.
  bool select_disarm(wait_list::node& n, bool give_back) noexcept {
    spin_guard lk(lock_);
    waiters_.remove(n);
    return n.fired && !give_back;
  }

 private:
  spin_lock lock_;
  std::atomic<bool> cancelled_{false};
  wait_list waiters_;
  std::list<std::weak_ptr<token_state>> children_;
  std::shared_ptr<token_state> parent_;
  std::list<std::weak_ptr<token_state>>::iterator pos_;
};

}  // namespace detail

cancellation_token::cancellation_token() : s_(std::make_shared<detail::token_state>()) {}

cancellation_token cancellation_token::child_token() const {
  auto child = std::make_shared<detail::token_state>();
  // A cancelled parent lists no child: the child is born cancelled.
  if (!s_->link_child(s_, child)) child->cancel();
  return cancellation_token(std::move(child));
}

void cancellation_token::cancel() const noexcept { s_->cancel(); }
bool cancellation_token::is_cancelled() const noexcept { return s_->is_cancelled(); }
void cancellation_token::cancelled() const { (void)s_->wait(detail::no_deadline); }
result<void> cancellation_token::wait(std::int64_t deadline_ns) const {
  return s_->wait(deadline_ns);
}

cancellation_drop_guard cancellation_token::drop_guard() const {
  return cancellation_drop_guard(*this);
}

detail::poll cancellation_token::select_try() const noexcept { return s_->select_try(); }
detail::poll cancellation_token::select_arm(detail::waiter& w,
                                            detail::wait_list::node& n) const noexcept {
  return s_->select_arm(w, n);
}
bool cancellation_token::select_disarm(detail::wait_list::node& n, bool give_back) const noexcept {
  return s_->select_disarm(n, give_back);
}

}  // namespace weft::sync
