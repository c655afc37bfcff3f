"""The plainest Streamlit page a teacher would write for stage 1 (bench/browser.py's peer): five sliders, the
tutorial's loop (backprop by hand), one plotly chart. No lib/, no sidebar, no cache, no CSS.

    .venv/bin/streamlit run bench/plain_stage1.py
"""
import plotly.graph_objects as go
import streamlit as st
import torch

st.title("1. Tensors: backprop by hand")
N = st.slider("N: batch size", 1, 1024, 64, key="n")
D_in = st.slider("D_IN: input size", 1, 2048, 1000, key="d_in")
H = st.slider("H: hidden size", 1, 1024, 100, key="hidden")
D_out = st.slider("D_OUT: output size", 1, 256, 10, key="d_out")
learning_rate = st.select_slider("lr: learning rate", [1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 1e-6, key="lr")

torch.manual_seed(0)
x = torch.randn(N, D_in)
y = torch.randn(N, D_out)
w1 = torch.randn(D_in, H)
w2 = torch.randn(H, D_out)
losses = []
for t in range(500):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    loss = (y_pred - y).pow(2).sum().item()
    losses.append(loss)

    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)

    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2

figure = go.Figure(go.Scatter(y=losses, mode="lines"))
figure.update_layout(title="Training loss", xaxis_title="step", yaxis_title="loss", yaxis_type="log")
st.plotly_chart(figure)
