using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Bench;

/// <summary>
/// One whole-model workload of <c>SharpSeg.Bench models</c>: <paramref name="Build"/> creates the model, its input and
/// (for training) the optimizer once, and returns the step that is timed.
/// </summary>
/// <param name="Name">The workload's name on the command line and in the JSON line.</param>
/// <param name="Training">A train step (forward, cross-entropy, backward, SGD update) rather than an inference forward.</param>
/// <param name="Build">Builds the model and returns one step.</param>
internal sealed record ModelWorkload(string Name, bool Training, Func<ModelStep> Build);

/// <summary>A prepared workload: <see cref="Run"/> performs one step; <see cref="Forward"/> only the forward of a train step (to measure what it keeps alive).</summary>
internal sealed record ModelStep(Action Run, Func<object> Forward, Action ClearGradients);

/// <summary>
/// The workloads of issue 11's table and issue 15's detection ones (<see cref="DetectionWorkloads"/>), each also timed in
/// PyTorch by <c>tools/bench_models_pytorch.py</c> under the same name. Segmentation models have 19 classes (Cityscapes);
/// the demo's model has its 4.
/// </summary>
internal static class ModelWorkloads
{
    private const int Classes = 19;

    public static IReadOnlyList<ModelWorkload> All() =>
    [
        new("resnet50_224_infer", false, () => Inference(new TorchvisionResNet(TorchvisionResNetArch.ResNet50, 1000), 1, 224)),
        new("deeplabv3p_resnet50vd_os16_512_infer", false, () => Inference(DeepLab("resnet50_vd", 16), 1, 512)),
        new("deeplabv3p_resnet50vd_os8_512_infer", false, () => Inference(DeepLab("resnet50_vd", 8), 1, 512)),
        new("deeplabv3p_mobilenetv3large_512_infer", false, () => Inference(DeepLab("mobilenet_v3_large", 16), 1, 512)),
        new("hrnet_w18_512_infer", false, () => Inference(ModelRegistry.CreateModel("hrnet", new HRNetOptions(Classes)), 1, 512)),
        new("unet_256_train", true, () => TrainStep(ModelRegistry.CreateModel("unet", new UNetOptions(Classes)), Classes, 2, 256)),
        new("deeplabv3p_resnet50vd_os16_512_train", true, () => TrainStep(DeepLab("resnet50_vd", 16), Classes, 2, 512)),
        new("demo_deeplabv3p_resnet18vd_64_train", true, () => TrainStep(ModelRegistry.CreateModel("deeplabv3p",
            new DeepLabV3PlusOptions(4, Backbone: "resnet18_vd", OutputStride: 16, AsppOutChannels: 64, LowLevelChannels: 32)), 4, 8, 64)),
        .. DetectionWorkloads.All(),
    ];

    private static SegmentationModel DeepLab(string backbone, int outputStride) =>
        ModelRegistry.CreateModel("deeplabv3p", new DeepLabV3PlusOptions(Classes, Backbone: backbone, OutputStride: outputStride));

    private static ModelStep Inference(Module model, int batch, int size)
    {
        model.Eval();
        var input = Tensor.Randn(new Shape(batch, 3, size, size), new Random(1));
        object Forward()
        {
            using var _ = GradMode.NoGrad();
            return model is SegmentationModel segmentation ? segmentation.Forward(input) : ((TensorModule)model).Forward(input);
        }
        return new ModelStep(() => Forward(), Forward, () => { });
    }

    private static ModelStep TrainStep(SegmentationModel model, int classes, int batch, int size)
    {
        model.Train();
        var random = new Random(1);
        var input = Tensor.Randn(new Shape(batch, 3, size, size), random);
        var labelData = new long[batch * size * size];
        for (int i = 0; i < labelData.Length; i++) labelData[i] = random.Next(classes);
        var labels = Tensor.FromArray(labelData, batch, size, size);
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), 0.01, momentum: 0.9);

        Tensor Forward() => loss.Forward(model.Forward(input)[0], labels);
        void Step()
        {
            optimizer.ZeroGrad();
            Forward().Backward();
            optimizer.Step();
        }
        return new ModelStep(Step, Forward, optimizer.ZeroGrad);
    }
}
