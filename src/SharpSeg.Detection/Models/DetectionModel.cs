using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// What every detector offers the training and inference layers (<c>Detector</c>, <c>sharpseg detect</c>): inference on a
/// list of images and the training losses for a list of targets. The counterpart of torchvision's detection models, whose
/// <c>forward(images)</c> returns detections in eval mode and <c>forward(images, targets)</c> a loss dict in train mode.
/// </summary>
public abstract class DetectionModel : Module
{
    /// <summary>Classes including background (torchvision's <c>num_classes</c>, 91 for COCO).</summary>
    public abstract int NumClasses { get; }

    /// <summary>
    /// Detections for each [3, H, W] image (RGB floats in [0, 1]) in its own pixels, best first, without recording
    /// gradients. Equivalent to <c>model.eval(); model(images)</c>.
    /// </summary>
    public abstract IReadOnlyList<DetectionResult> Predict(IReadOnlyList<Tensor> images);

    /// <summary>
    /// The training losses by torchvision's names (<c>loss_classifier</c>, <c>loss_box_reg</c>, <c>loss_objectness</c>,
    /// <c>loss_rpn_box_reg</c>, <c>loss_mask</c>; EfficientDet <c>loss_class</c>, <c>loss_box</c>), each a scalar with
    /// gradients; the total is their sum. Random draws (samplers) come from <paramref name="random"/>. Equivalent to
    /// <c>model.train(); model(images, targets)</c>.
    /// </summary>
    public abstract IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets, Random? random = null);
}

/// <summary>
/// A backbone that turns a batch of normalised images into named feature maps of one width, finest first (torchvision's
/// convention: a module with <c>out_channels</c> returning an <c>OrderedDict</c>). <see cref="BackboneWithFpn"/> is one.
/// </summary>
public abstract class DetectionBackbone : Module
{
    /// <summary>Channels of every returned map. Equivalent to torchvision's <c>backbone.out_channels</c>.</summary>
    public abstract int OutChannels { get; }

    /// <summary>The named maps for an [N, 3, H, W] batch, finest first.</summary>
    public abstract OrderedDictionary<string, Tensor> Forward(Tensor images);
}
