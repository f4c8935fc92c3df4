"""The ExecuTorch edge passes (backends/executorch/passes.py) on an attention block: what each one
removes, and that the transformed graph still computes what eager PyTorch does."""

import torch

from backends.executorch.passes import PASSES


class Attention(torch.nn.Module):
    """The attention of exporter.model.encoder.Layer, without the Linears."""

    heads, head_dim = 4, 8

    def forward(self, q, k, v, add_mask):
        def split(t):
            return t.reshape(1, t.shape[1], self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5)
        probs = torch.softmax(scores + add_mask, dim=-1)
        return torch.matmul(probs, v).transpose(1, 2).reshape(1, q.shape[2], -1)


def _ops(edge) -> list[str]:
    return [str(n.target).split(".")[-2] if "." in str(n.target) else str(n.target)
            for n in edge.exported_program().graph_module.graph.nodes if n.op == "call_function"]


def test_passes_drop_expands_merge_permutes_and_scale_the_queries():
    from executorch.exir import to_edge

    torch.manual_seed(0)
    example = (*(torch.randn(1, 16, 32) for _ in range(3)), torch.where(torch.rand(1, 1, 1, 16) < 0.2, -100.0, 0.0))
    edge = to_edge(torch.export.export(Attention(), example))
    before = _ops(edge)
    after_edge = edge.transform(list(PASSES))
    after = _ops(after_edge)
    print(f"\nbefore: {before}\nafter:  {after}")
    assert before.count("expand_copy") == 4 and after.count("expand_copy") == 0
    assert after.count("permute_copy") == before.count("permute_copy") - 1  # the key's two transposes -> one
    graph = after_edge.exported_program().graph_module.graph
    scale = next(n for n in graph.nodes if n.op == "call_function" and "mul" in str(n.target))
    assert "bmm" in str(next(iter(scale.users)).target)  # the scale now multiplies the queries, before the bmm
    with torch.no_grad():
        want = Attention()(*example)
        got = after_edge.exported_program().module()(*example)
    diff = (got - want).abs().max()
    print(f"max diff vs eager: {diff:.2e}")
    assert diff < 1e-5
