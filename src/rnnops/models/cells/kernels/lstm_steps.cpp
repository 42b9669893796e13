// The time loops of the LSTM kernel (peephole_lstm.py) in C++: per step one GEMM through ATen and
// one pass over the (B, H) block that does every pointwise operation of the step, instead of a
// dozen ATen calls from Python, each a separate pass over memory with its own dispatch.
//
// Equations and the backward formulas: peephole_lstm.py. The gate rows are i, f, c~, o; without
// peepholes (peephole = None) this is torch.nn.LSTM's cell. Built by native.py with -ffast-math so
// that GCC vectorises exp through glibc's vector math library; sigmoid and tanh are written with
// exp so that one vector routine serves both.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace {

// Arguments are clamped where the result is saturated anyway: -ffast-math lets the compiler
// assume exp never overflows, and an inf there turned sigmoid(-100) into NaN (measured).
template <typename T> inline T clamp(T x, T bound) { return std::min(std::max(x, -bound), bound); }
template <typename T> inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-clamp(x, T(80))));
}
template <typename T> inline T tanh_by_exp(T x) {
  return T(2) / (T(1) + std::exp(T(-2) * clamp(x, T(40)))) - T(1);
}

// Rows per parallel chunk: enough elements that a chunk outweighs the cost of starting a thread.
int64_t grain_rows(int64_t hidden) { return std::max<int64_t>(1, 4096 / hidden); }

template <typename T>
struct Peepholes {
  const T* in;      // w_ci, or nullptr for the plain LSTM
  const T* forget;  // w_cf
  const T* out;     // w_co
};

template <typename T>
Peepholes<T> peepholes_of(const c10::optional<at::Tensor>& peephole, int64_t hidden) {
  if (!peephole.has_value()) return {nullptr, nullptr, nullptr};
  const T* w = peephole->data_ptr<T>();
  return {w, w + hidden, w + 2 * hidden};
}

// One step for rows [first, last): gates (pre-activations, with the recurrent term added) become
// the activated i, f, c~, o in place; writes c_t, tanh(c_t) and h_t.
template <typename T, bool kPeep>
void forward_rows(T* gates, const T* c_prev, T* c_next, T* tanh_next, T* h_next,
                  Peepholes<T> w, int64_t hidden, int64_t first, int64_t last) {
  for (int64_t b = first; b < last; ++b) {
    T* gi = gates + b * 4 * hidden;
    T* gf = gi + hidden;
    T* gc = gf + hidden;
    T* go = gc + hidden;
    const T* cp = c_prev + b * hidden;
    T* cn = c_next + b * hidden;
    T* tn = tanh_next + b * hidden;
    T* hn = h_next + b * hidden;
#pragma GCC ivdep
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = sigmoid(kPeep ? gi[j] + w.in[j] * cp[j] : gi[j]);
      const T f = sigmoid(kPeep ? gf[j] + w.forget[j] * cp[j] : gf[j]);
      const T candidate = tanh_by_exp(gc[j]);
      const T c = f * cp[j] + i * candidate;
      const T o = sigmoid(kPeep ? go[j] + w.out[j] * c : go[j]);  // o looks at the new c_t
      const T tc = tanh_by_exp(c);
      gi[j] = i;
      gf[j] = f;
      gc[j] = candidate;
      go[j] = o;
      cn[j] = c;
      tn[j] = tc;
      hn[j] = o * tc;
    }
  }
}

// One step back for rows [first, last): from dh_t and dc_t (updated in place to dc_{t-1}) and
// the saved activations, writes the step's pre-activation gradients dg.
template <typename T, bool kPeep>
void backward_rows(const T* gates, const T* c_prev, const T* tanh_c, const T* dh, T* dc, T* dg,
                   Peepholes<T> w, int64_t hidden, int64_t first, int64_t last) {
  for (int64_t b = first; b < last; ++b) {
    const T* gi = gates + b * 4 * hidden;
    const T* gf = gi + hidden;
    const T* gc = gf + hidden;
    const T* go = gc + hidden;
    T* dgi = dg + b * 4 * hidden;
    T* dgf = dgi + hidden;
    T* dgc = dgf + hidden;
    T* dgo = dgc + hidden;
    const T* cp = c_prev + b * hidden;
    const T* tc = tanh_c + b * hidden;
    const T* dhb = dh + b * hidden;
    T* dcb = dc + b * hidden;
#pragma GCC ivdep
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = gi[j], f = gf[j], candidate = gc[j], o = go[j], th = tc[j], d = dhb[j];
      const T d_o = d * th * o * (T(1) - o);
      T d_c = dcb[j] + d * o * (T(1) - th * th);
      if (kPeep) d_c += d_o * w.out[j];
      const T d_i = d_c * candidate * i * (T(1) - i);
      const T d_f = d_c * cp[j] * f * (T(1) - f);
      dgi[j] = d_i;
      dgf[j] = d_f;
      dgc[j] = d_c * i * (T(1) - candidate * candidate);
      dgo[j] = d_o;
      T carried = d_c * f;
      if (kPeep) carried += d_i * w.in[j] + d_f * w.forget[j];
      dcb[j] = carried;
    }
  }
}

void check_block(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu(), "lstm_steps: ", name, " must be on the CPU");
  TORCH_CHECK(t.is_contiguous(), "lstm_steps: ", name, " must be contiguous");
}

// gates (T, B, 4H): x W_ihᵀ + b on entry, the activated gates on return; c and h (T+1, B, H) with
// the initial states in row 0; tanh_c (T, B, H).
void forward(at::Tensor gates, at::Tensor c, at::Tensor h, at::Tensor tanh_c,
             const at::Tensor& weight_hh, const c10::optional<at::Tensor>& peephole) {
  for (const auto& [t, name] : {std::pair{gates, "gates"}, {c, "c"}, {h, "h"}, {tanh_c, "tanh_c"}})
    check_block(t, name);
  const int64_t steps = gates.size(0), batch = gates.size(1), hidden = gates.size(2) / 4;
  const at::Tensor recurrent = weight_hh.t();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_steps_forward", [&] {
    const auto w = peepholes_of<scalar_t>(peephole, hidden);
    for (int64_t t = 0; t < steps; ++t) {
      at::Tensor g = gates[t];
      g.addmm_(h[t], recurrent);
      scalar_t* gp = g.data_ptr<scalar_t>();
      const scalar_t* cp = c[t].data_ptr<scalar_t>();
      scalar_t* cn = c[t + 1].data_ptr<scalar_t>();
      scalar_t* tn = tanh_c[t].data_ptr<scalar_t>();
      scalar_t* hn = h[t + 1].data_ptr<scalar_t>();
      at::parallel_for(0, batch, grain_rows(hidden), [&](int64_t first, int64_t last) {
        if (w.in)
          forward_rows<scalar_t, true>(gp, cp, cn, tn, hn, w, hidden, first, last);
        else
          forward_rows<scalar_t, false>(gp, cp, cn, tn, hn, w, hidden, first, last);
      });
    }
  });
}

// Returns (dgates (T, B, 4H), dh_0, dc_0) from dy (T, B, H; any strides) and the gradients of the
// final states, given forward's saved gates, c and tanh_c.
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward(
    const at::Tensor& gates, const at::Tensor& c, const at::Tensor& tanh_c, const at::Tensor& dy,
    const at::Tensor& dh_last, const at::Tensor& dc_last, const at::Tensor& weight_hh,
    const c10::optional<at::Tensor>& peephole) {
  for (const auto& [t, name] : {std::pair{gates, "gates"}, {c, "c"}, {tanh_c, "tanh_c"}})
    check_block(t, name);
  const int64_t steps = gates.size(0), batch = gates.size(1), hidden = gates.size(2) / 4;
  at::Tensor dgates = at::empty_like(gates);
  at::Tensor dh = (dy[steps - 1] + dh_last).contiguous();
  at::Tensor dc = dc_last.clone(at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_steps_backward", [&] {
    const auto w = peepholes_of<scalar_t>(peephole, hidden);
    for (int64_t t = steps - 1; t >= 0; --t) {
      at::Tensor dg = dgates[t];
      const scalar_t* gp = gates[t].data_ptr<scalar_t>();
      const scalar_t* cp = c[t].data_ptr<scalar_t>();
      const scalar_t* tc = tanh_c[t].data_ptr<scalar_t>();
      const scalar_t* dhp = dh.data_ptr<scalar_t>();
      scalar_t* dcp = dc.data_ptr<scalar_t>();
      scalar_t* dgp = dg.data_ptr<scalar_t>();
      at::parallel_for(0, batch, grain_rows(hidden), [&](int64_t first, int64_t last) {
        if (w.in)
          backward_rows<scalar_t, true>(gp, cp, tc, dhp, dcp, dgp, w, hidden, first, last);
        else
          backward_rows<scalar_t, false>(gp, cp, tc, dhp, dcp, dgp, w, hidden, first, last);
      });
      // dh_{t-1} = dy_{t-1} + dg W_hh, written over dh (dg no longer needs it)
      if (t > 0)
        at::addmm_out(dh, dy[t - 1], dg, weight_hh);
      else
        at::mm_out(dh, dg, weight_hh);
    }
  });
  return {dgates, dh, dc};
}

}  // namespace

TORCH_LIBRARY(rnnops_native, m) {
  m.def("lstm_forward(Tensor(a!) gates, Tensor(b!) c, Tensor(c!) h, Tensor(d!) tanh_c, "
        "Tensor weight_hh, Tensor? peephole) -> ()");
  m.def("lstm_backward(Tensor gates, Tensor c, Tensor tanh_c, Tensor dy, Tensor dh_last, "
        "Tensor dc_last, Tensor weight_hh, Tensor? peephole) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(rnnops_native, CPU, m) {
  m.impl("lstm_forward", &forward);
  m.impl("lstm_backward", &backward);
}
