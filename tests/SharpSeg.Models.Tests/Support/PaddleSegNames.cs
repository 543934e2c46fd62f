namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// A state dict renamed as PaddleSeg names it, the inverse of <c>KeyMap.PaddleSeg</c> for ConvBN-style modules: a
/// ConvBN/ConvBNReLU's children <c>conv</c>/<c>bn</c> become <c>_conv</c>/<c>_batch_norm</c>, the statistics
/// <c>_mean</c>/<c>_variance</c>, and <c>num_batches_tracked</c> is dropped; plain convolutions (no sibling
/// <c>bn</c>, such as <c>classifier.conv</c>) keep their names. Also compiled into SharpSeg.Training.Tests.
/// </summary>
public static class PaddleSegNames
{
    public static Dictionary<string, Tensor> Of(IReadOnlyDictionary<string, Tensor> state)
    {
        var paddle = new Dictionary<string, Tensor>();
        foreach (var (key, tensor) in state)
        {
            if (key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) continue;
            int leaf = key.LastIndexOf('.');
            int module = key.LastIndexOf('.', leaf - 1);
            string owner = key[..module], child = key[(module + 1)..leaf], name = key[(leaf + 1)..];
            string paddleKey = child switch
            {
                "bn" => $"{owner}._batch_norm.{name switch { "running_mean" => "_mean", "running_var" => "_variance", _ => name }}",
                "conv" when state.ContainsKey(owner + ".bn.weight") => $"{owner}._conv.{name}",
                _ => key,
            };
            paddle[paddleKey] = tensor;
        }
        return paddle;
    }
}
