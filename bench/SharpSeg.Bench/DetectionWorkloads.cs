using SharpSeg.Detection.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Bench;

/// <summary>
/// Issue 15's detection workloads of <c>SharpSeg.Bench models</c>, each also timed in PyTorch by
/// <c>tools/bench_models_pytorch.py</c> under the same name (torchvision's <c>fasterrcnn_resnet50_fpn</c> /
/// <c>maskrcnn_resnet50_fpn</c> with <c>weights=None</c>; EfficientDet through <c>tools/efficientdet_reference.py</c>).
/// The R-CNNs are built as torchvision builds them from scratch (BatchNorm2d in the body, every stage trainable) with
/// COCO's 91 classes. Inference uses one 512×683 image with <c>min_size</c> 512 (the 800×1066 COCO size at 0.64 scale, so a
/// case stays under a minute); training a batch of two 320×320 images with <c>min_size</c> = <c>max_size</c> = 320.
/// </summary>
internal static class DetectionWorkloads
{
    private const int CocoClasses = 91;

    public static IReadOnlyList<ModelWorkload> All() =>
    [
        new("faster_rcnn_r50_fpn_infer", false, () => RcnnInference(new FasterRcnn(RcnnOptions(512, 1333)))),
        new("mask_rcnn_r50_fpn_infer", false, () => RcnnInference(new MaskRcnn(RcnnOptions(512, 1333)))),
        new("efficientdet_d0_infer", false, EfficientDetInference),
        new("faster_rcnn_r50_fpn_train", true, RcnnTrainStep),
    ];

    private static FasterRcnnOptions RcnnOptions(int minSize, int maxSize) =>
        new(NumClasses: CocoClasses, TrainableBackboneLayers: 5, FrozenBatchNorm: false, MinSize: minSize, MaxSize: maxSize);

    private static Tensor Image(int height, int width, Random random) => Tensor.Rand(new Shape(3, height, width), random);

    private static ModelStep RcnnInference(FasterRcnn model)
    {
        model.Eval();
        // Random weights score every class near 1/91, below the 0.05 threshold, which would leave the box post-processing
        // and the mask branch idle: a class-1 bias of 5 (the same on the PyTorch side) gives it probability ≈ 0.62 for every
        // proposal, so NMS keeps up to 100 detections, as a trained model's busy image does.
        model.NamedParameters().Single(p => p.Name == "roi_heads.box_predictor.cls_score.bias").Parameter.AsSpan()[1] = 5f;
        Tensor[] images = [Image(512, 683, new Random(1))];
        object Forward() => model.Predict(images);
        return new ModelStep(() => Forward(), Forward, () => { });
    }

    private static ModelStep EfficientDetInference()
    {
        var model = EfficientDet.FromName("efficientdet_d0", CocoClasses);
        model.Eval();
        Tensor[] images = [Image(512, 512, new Random(1))];
        object Forward() => model.Predict(images);
        return new ModelStep(() => Forward(), Forward, () => { });
    }

    private static ModelStep RcnnTrainStep()
    {
        var model = new FasterRcnn(RcnnOptions(320, 320));
        model.Train();
        var random = new Random(1);
        Tensor[] images = [Image(320, 320, random), Image(320, 320, random)];
        RcnnTarget[] targets =
        [
            new(Tensor.FromArray(new[] { 20f, 30f, 140f, 200f, 150f, 60f, 300f, 180f, 60f, 210f, 120f, 310f }, 3, 4), Tensor.FromArray(new long[] { 1, 17, 3 }, 3)),
            new(Tensor.FromArray(new[] { 40f, 40f, 280f, 260f, 10f, 250f, 90f, 315f }, 2, 4), Tensor.FromArray(new long[] { 62, 1 }, 2)),
        ];
        var optimizer = new Sgd(model.Parameters().Where(p => p.RequiresGrad), 0.01, momentum: 0.9);
        // The samplers draw from their own seeded generator, so every step trains on the same anchors and proposals.
        Tensor Forward() => model.Losses(images, targets, new Random(2)).Total;
        void Step()
        {
            optimizer.ZeroGrad();
            Forward().Backward();
            optimizer.Step();
        }
        return new ModelStep(Step, Forward, optimizer.ZeroGrad);
    }
}
