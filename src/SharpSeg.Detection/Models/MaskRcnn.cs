using System.Globalization;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// The mask head: 3×3 convolutions with ReLU, one per entry of <c>layers</c> (Mask R-CNN: four of 256 channels, dilation 1),
/// keys <c>{i}.0.weight</c>/<c>{i}.0.bias</c>. Weights start as torchvision's (Kaiming normal, fan-out, ReLU gain; zero bias).
/// Equivalent to <c>torchvision.models.detection.mask_rcnn.MaskRCNNHeads</c> (state-dict version 2, without a norm layer).
/// </summary>
public sealed class MaskRcnnHeads : TensorModule
{
    private readonly Sequential[] _blocks;
    private readonly Conv2d[] _convs;

    /// <summary>Builds the head for pooled features of <paramref name="inChannels"/> channels.</summary>
    /// <param name="inChannels">Channels of the pooled RoI features (the FPN width).</param>
    /// <param name="layers">Output channels of each convolution (torchvision's <c>mask_layers</c>, (256, 256, 256, 256)).</param>
    /// <param name="dilation">Dilation and padding of every convolution (torchvision's <c>mask_dilation</c>, 1).</param>
    public MaskRcnnHeads(int inChannels, IReadOnlyList<int> layers, int dilation = 1)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("MaskRcnnHeads: at least one layer is needed.", nameof(layers));
        _blocks = new Sequential[layers.Count];
        _convs = new Conv2d[layers.Count];
        int next = inChannels;
        for (int i = 0; i < layers.Count; i++)
        {
            var conv = new Conv2d(next, layers[i], 3, padding: dilation, dilation: dilation);
            Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
            Init.Zeros(conv.Bias!);
            _convs[i] = conv;
            _blocks[i] = Child(i.ToString(CultureInfo.InvariantCulture), new Sequential(conv, new Relu()));
            next = layers[i];
        }
        OutChannels = next;
    }

    /// <summary>Channels of the head's output (the last layer's).</summary>
    public int OutChannels { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (!InferenceOps.Applies)
        {
            foreach (var block in _blocks) x = block.Forward(x);
            return x;
        }
        // Inference: the ReLU runs in each convolution's epilogue, and the layers write alternately into two maps (a
        // layer's output may not share its input's memory), so four layers over 100 RoIs need two 20 MB maps, not eight.
        var spare = new Tensor?[2];
        for (int i = 0; i < _convs.Length; i++)
        {
            var conv = _convs[i];
            var o = conv.Options;
            x = Functional.Conv2dFused(x, conv.Weight, conv.Bias, o.Stride, o.Padding, o.Dilation, o.Groups, activation: FusedActivation.Relu,
                outputBuffer: spare[i % 2]);
            spare[i % 2] ??= x;
        }
        return x;
    }
}

/// <summary>
/// Mask logits per class: a 2×2 transposed convolution of stride 2 (<c>conv5_mask</c>) doubling the resolution, ReLU, and a
/// 1×1 convolution to one logit map per class (<c>mask_fcn_logits</c>). Weights start Kaiming normal (fan-out, ReLU gain),
/// biases keep the layers' default draw, as torchvision. Equivalent to
/// <c>torchvision.models.detection.mask_rcnn.MaskRCNNPredictor</c>.
/// </summary>
public sealed class MaskRcnnPredictor : TensorModule
{
    private readonly ConvTranspose2d _conv5Mask;
    private readonly Conv2d _maskFcnLogits;

    /// <summary>Builds the predictor.</summary>
    /// <param name="inChannels">Channels of the mask head's output (256).</param>
    /// <param name="dimReduced">Channels after the transposed convolution (256).</param>
    /// <param name="numClasses">Classes including background; one logit map each.</param>
    public MaskRcnnPredictor(int inChannels, int dimReduced, int numClasses)
    {
        _conv5Mask = Child("conv5_mask", new ConvTranspose2d(inChannels, dimReduced, 2, stride: 2));
        _maskFcnLogits = Child("mask_fcn_logits", new Conv2d(dimReduced, numClasses, 1));
        Init.KaimingNormal(_conv5Mask.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Init.KaimingNormal(_maskFcnLogits.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        NumClasses = numClasses;
    }

    /// <summary>Classes including background: the number of logit maps.</summary>
    public int NumClasses { get; }

    /// <summary>Logits [K, classes, 2h, 2w] of pooled features [K, C, h, w].</summary>
    public override Tensor Forward(Tensor x)
    {
        if (!InferenceOps.Applies) return _maskFcnLogits.Forward(_conv5Mask.Forward(x).Relu());
        // Inference: the transposed convolution's bias and the ReLU are applied in one pass over its fresh output
        // (80 MB for 100 RoIs) instead of in two new tensors.
        var o = _conv5Mask.Options;
        var upsampled = Functional.ConvTranspose2d(x, _conv5Mask.Weight, null, o.Stride, o.Padding, o.OutputPadding, o.Groups, o.Dilation);
        return _maskFcnLogits.Forward(_conv5Mask.Bias is { } bias ? InferenceOps.AddBiasReluInPlace(upsampled, bias) : InferenceOps.ReluInPlace(upsampled));
    }
}

/// <summary>
/// The mask branch of <see cref="RoiHeads"/>: the pooler over the pyramid, the head and the predictor. Equivalent to
/// torchvision's <c>RoIHeads(mask_roi_pool, mask_head, mask_predictor)</c> arguments.
/// </summary>
/// <param name="RoiPool">Pools the features of each box (Mask R-CNN: 14×14 over maps "0"…"3", sampling 2).</param>
/// <param name="Head">The convolution stack (keys <c>roi_heads.mask_head.*</c>).</param>
/// <param name="Predictor">The logits per class (keys <c>roi_heads.mask_predictor.*</c>).</param>
public sealed record MaskBranch(MultiScaleRoIAlign RoiPool, MaskRcnnHeads Head, MaskRcnnPredictor Predictor)
{
    /// <summary>
    /// torchvision's <c>MaskRCNN</c> defaults for pyramid maps of <paramref name="inChannels"/> channels: 14×14 RoIAlign
    /// (sampling 2) over "0"…"3", four 3×3 convolutions of 256 channels, a predictor of 256 reduced channels.
    /// </summary>
    public static MaskBranch Default(int inChannels, int numClasses) => new(
        new MultiScaleRoIAlign(["0", "1", "2", "3"], new Size2(14, 14), samplingRatio: 2),
        new MaskRcnnHeads(inChannels, [256, 256, 256, 256], dilation: 1),
        new MaskRcnnPredictor(256, 256, numClasses));
}

/// <summary>
/// Mask R-CNN (He et al., 2017): <see cref="FasterRcnn"/> whose <see cref="RoiHeads"/> also carry a <see cref="MaskBranch"/>.
/// <see cref="FasterRcnn.Predict"/> fills <see cref="DetectionResult.Masks"/> with [K, 1, H, W] float probabilities in
/// the original image's pixels (the 28×28 sigmoid map of each detection's class pasted into its box by
/// <see cref="MaskOps.PasteMasksInImage"/>; threshold at 0.5 for binary masks), and <see cref="FasterRcnn.Losses"/> adds
/// <c>loss_mask</c>, for which every target needs masks (<see cref="RcnnTarget.MaskBytes"/> or <see cref="RcnnTarget.Masks"/>). State-dict keys are torchvision's; old
/// checkpoints with <c>mask_head.mask_fcn{i}</c> keys load too. Equivalent to
/// <c>torchvision.models.detection.maskrcnn_resnet50_fpn</c> (other ResNets through <see cref="FasterRcnnOptions.Arch"/>)
/// and, with the optional arguments, to <c>MaskRCNN(backbone, …)</c>.
/// </summary>
public sealed class MaskRcnn : FasterRcnn
{
    /// <summary>Builds the model with torchvision's initialisation.</summary>
    /// <param name="options">Settings as for <see cref="FasterRcnn"/>.</param>
    /// <param name="backbone">Another backbone (torchvision's <c>MaskRCNN(backbone, …)</c>); default the ResNet-FPN of <paramref name="options"/>.</param>
    /// <param name="anchorGenerator">The RPN's anchors (torchvision's <c>rpn_anchor_generator</c>).</param>
    /// <param name="boxRoiPool">The box pooler (torchvision's <c>box_roi_pool</c>).</param>
    /// <param name="maskBranch">
    /// Mask pooler, head and predictor (torchvision's <c>mask_roi_pool</c>, <c>mask_head</c>, <c>mask_predictor</c>); default
    /// <see cref="MaskBranch.Default"/> for the backbone's width.
    /// </param>
    public MaskRcnn(FasterRcnnOptions? options = null, DetectionBackbone? backbone = null, AnchorGenerator? anchorGenerator = null,
        MultiScaleRoIAlign? boxRoiPool = null, MaskBranch? maskBranch = null)
        : base(options, backbone, anchorGenerator, boxRoiPool, channels => maskBranch ?? MaskBranch.Default(channels, (options ?? new FasterRcnnOptions()).NumClasses))
    {
    }
}

/// <summary>The mask operations of Mask R-CNN outside the network: pasting predicted masks and projecting ground truth.</summary>
public static class MaskOps
{
    /// <summary>
    /// Pastes M×M mask probabilities [K, 1, M, M] into an image of <paramref name="imageSize"/>: each mask is zero-padded by
    /// <paramref name="padding"/> on every side, its box grown about its centre by (M + 2·padding)/M and truncated to whole
    /// pixels, the padded mask resized bilinearly (align_corners false) to the box's (x2 − x1 + 1)×(y2 − y1 + 1) pixels and
    /// written into a zero image, clipped to its bounds. Returns [K, 1, H, W] (an empty [0, 1, H, W] for no masks).
    /// Equivalent to <c>torchvision.models.detection.roi_heads.paste_masks_in_image</c> (with <c>expand_masks</c> and
    /// <c>expand_boxes</c>).
    /// </summary>
    public static Tensor PasteMasksInImage(Tensor masks, Tensor boxes, (int H, int W) imageSize, int padding = 1)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(boxes);
        if (masks.Rank != 4 || masks.Shape[1] != 1 || masks.Shape[2] != masks.Shape[3])
            throw new ShapeMismatchException("PasteMasksInImage", $"masks must be [K, 1, M, M], got {masks.Shape}");
        int count = masks.Shape[0], size = masks.Shape[3], padded = size + 2 * padding;
        if (boxes.Rank != 2 || boxes.Shape[1] != 4 || boxes.Shape[0] != count)
            throw new ShapeMismatchException("PasteMasksInImage", $"boxes must be [{count}, 4] for masks {masks.Shape}, got {boxes.Shape}");
        if (imageSize.H <= 0 || imageSize.W <= 0)
            throw new ArgumentException($"PasteMasksInImage: image size {imageSize.H}×{imageSize.W} must be positive.", nameof(imageSize));
        // torchvision scales float boxes by a Python float: the product is taken in the boxes' float32.
        float scale = (float)((double)padded / size);
        var maskValues = masks.ToArray();
        var boxValues = boxes.ToArray();
        var result = new float[(long)count * imageSize.H * imageSize.W];
        for (int k = 0; k < count; k++)
        {
            float x1 = boxValues[k * 4], y1 = boxValues[k * 4 + 1], x2 = boxValues[k * 4 + 2], y2 = boxValues[k * 4 + 3];
            float halfW = (x2 - x1) * 0.5f * scale, halfH = (y2 - y1) * 0.5f * scale;
            float centreX = (x2 + x1) * 0.5f, centreY = (y2 + y1) * 0.5f;
            // Casting to int64 truncates toward zero, as torch's .to(torch.int64).
            long bx1 = (long)(centreX - halfW), by1 = (long)(centreY - halfH), bx2 = (long)(centreX + halfW), by2 = (long)(centreY + halfH);
            var paddedMask = new float[padded * padded];
            for (int y = 0; y < size; y++)
                Array.Copy(maskValues, (k * size + y) * size, paddedMask, (y + padding) * padded + padding, size);
            PasteOne(paddedMask, padded, bx1, by1, bx2, by2, imageSize, result.AsSpan((int)((long)k * imageSize.H * imageSize.W), imageSize.H * imageSize.W));
        }
        return Tensor.FromArray(result, count, 1, imageSize.H, imageSize.W);
    }

    // torchvision's paste_mask_in_image for one integer box (x2, y2 inclusive).
    private static void PasteOne(float[] mask, int size, long x1, long y1, long x2, long y2, (int H, int W) image, Span<float> target)
    {
        int w = (int)Math.Max(x2 - x1 + 1, 1), h = (int)Math.Max(y2 - y1 + 1, 1);
        long left = Math.Max(x1, 0), right = Math.Min(x2 + 1, image.W), top = Math.Max(y1, 0), bottom = Math.Min(y2 + 1, image.H);
        if (left >= right || top >= bottom) return;
        var resized = Functional.Interpolate(Tensor.FromArray(mask, 1, 1, size, size), new Size2(h, w), mode: InterpolationMode.Bilinear,
            alignCorners: false).AsSpan();
        for (long y = top; y < bottom; y++)
            resized.Slice((int)((y - y1) * w + (left - x1)), (int)(right - left)).CopyTo(target.Slice((int)(y * image.W + left), (int)(right - left)));
    }

    /// <summary>
    /// The ground-truth masks [G, H, W] cropped to <paramref name="boxes"/> [P, 4] and resized to M×M by RoIAlign
    /// (spatial scale 1, adaptive sampling, aligned false), row p from mask <paramref name="matchedIndices"/>[p]: the targets
    /// of Mask R-CNN's loss, [P, M, M]. Equivalent to <c>torchvision.models.detection.roi_heads.project_masks_on_boxes</c>.
    /// </summary>
    public static Tensor ProjectMasksOnBoxes(Tensor gtMasks, Tensor boxes, IReadOnlyList<int> matchedIndices, int size)
    {
        ArgumentNullException.ThrowIfNull(gtMasks);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(matchedIndices);
        if (gtMasks.Rank != 3) throw new ShapeMismatchException("ProjectMasksOnBoxes", $"masks must be [G, H, W], got {gtMasks.Shape}");
        int count = boxes.Shape[0];
        if (matchedIndices.Count != count)
            throw new ArgumentException($"ProjectMasksOnBoxes: {count} boxes but {matchedIndices.Count} matched indices.", nameof(matchedIndices));
        if (count == 0) return Tensor.Zeros(0, size, size);
        var boxValues = boxes.ToArray();
        var rois = new float[count * 5];
        for (int p = 0; p < count; p++)
        {
            rois[p * 5] = matchedIndices[p];
            Array.Copy(boxValues, p * 4, rois, p * 5 + 1, 4);
        }
        var pooled = VisionOps.RoiAlign(gtMasks.To(DType.Float32).Unsqueeze(1), Tensor.FromArray(rois, count, 5), new Size2(size, size), 1f, -1, false);
        return pooled.Reshape(count, size, size);
    }

    /// <summary>
    /// <see cref="ProjectMasksOnBoxes(Tensor, Tensor, IReadOnlyList{int}, int)"/> reading byte masks (0/1, any non-zero byte
    /// is 1) without turning them into a float [G, H, W] tensor: each M×M cell averages the bilinear samples of the same
    /// RoIAlign grid (spatial scale 1, adaptive sampling, aligned false), with the same float operations in the same
    /// order, so the result is bit-identical to the float path. Only the [P, M, M] result is float. Equivalent to
    /// torchvision's <c>project_masks_on_boxes</c> on its uint8 <c>gt_masks</c>.
    /// </summary>
    public static Tensor ProjectMasksOnBoxes(Data.InstanceMasks gtMasks, Tensor boxes, IReadOnlyList<int> matchedIndices, int size)
    {
        ArgumentNullException.ThrowIfNull(gtMasks);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(matchedIndices);
        int count = boxes.Shape[0];
        if (matchedIndices.Count != count)
            throw new ArgumentException($"ProjectMasksOnBoxes: {count} boxes but {matchedIndices.Count} matched indices.", nameof(matchedIndices));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var boxValues = boxes.ToArray();
        var result = new float[count * size * size];
        int height = gtMasks.Height, width = gtMasks.Width;
        for (int p = 0; p < count; p++)
        {
            int index = matchedIndices[p];
            if (index < 0 || index >= gtMasks.Count)
                throw new ArgumentException($"ProjectMasksOnBoxes: box {p} is matched to mask {index}, but there are {gtMasks.Count} masks.", nameof(matchedIndices));
            ReadOnlySpan<byte> mask = gtMasks[index];
            float startW = boxValues[p * 4], startH = boxValues[p * 4 + 1];
            float roiW = MathF.Max(boxValues[p * 4 + 2] - startW, 1f), roiH = MathF.Max(boxValues[p * 4 + 3] - startH, 1f);
            float binH = roiH / size, binW = roiW / size;
            int gridH = Math.Max((int)MathF.Ceiling(roiH / size), 0), gridW = Math.Max((int)MathF.Ceiling(roiW / size), 0);
            float samples = Math.Max(gridH * gridW, 1);
            for (int ph = 0; ph < size; ph++)
                for (int pw = 0; pw < size; pw++)
                {
                    float sum = 0f;
                    for (int iy = 0; iy < gridH; iy++)
                    {
                        float y = startH + ph * binH + (iy + .5f) * binH / gridH;
                        for (int ix = 0; ix < gridW; ix++)
                        {
                            float x = startW + pw * binW + (ix + .5f) * binW / gridW;
                            sum += BilinearSample(mask, height, width, y, x);
                        }
                    }
                    result[(p * size + ph) * size + pw] = sum / samples;
                }
        }
        return Tensor.FromArray(result, count, size, size);
    }

    // torchvision's bilinear_interpolate on a 0/1 plane, the weights and the sum formed as the RoIAlign kernel forms them
    // (w0·v0 + w1·v1 + w2·v2 + w3·v3, left to right) so the float results match bit for bit.
    private static float BilinearSample(ReadOnlySpan<byte> plane, int height, int width, float y, float x)
    {
        if (y < -1f || y > height || x < -1f || x > width)
            return 0f;
        if (y <= 0) y = 0;
        if (x <= 0) x = 0;
        int yLow = (int)y, xLow = (int)x, yHigh, xHigh;
        if (yLow >= height - 1)
        {
            yHigh = yLow = height - 1;
            y = yLow;
        }
        else yHigh = yLow + 1;
        if (xLow >= width - 1)
        {
            xHigh = xLow = width - 1;
            x = xLow;
        }
        else xHigh = xLow + 1;
        float ly = y - yLow, lx = x - xLow, hy = 1f - ly, hx = 1f - lx;
        float v0 = plane[yLow * width + xLow] != 0 ? 1f : 0f, v1 = plane[yLow * width + xHigh] != 0 ? 1f : 0f;
        float v2 = plane[yHigh * width + xLow] != 0 ? 1f : 0f, v3 = plane[yHigh * width + xHigh] != 0 ? 1f : 0f;
        return hy * hx * v0 + hy * lx * v1 + ly * hx * v2 + ly * lx * v3;
    }
}
