namespace SharpSeg.Nn.Tests;

/// <summary>The C# twin of TinyResNet in tools/gen_nn_golden_modules.py: torchvision resnet names at toy width.</summary>
internal sealed class TinyResNet : TensorModule
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Relu _relu;
    private readonly MaxPool2d _maxpool;
    private readonly Sequential _layer1, _layer2, _classifier;
    private readonly AdaptiveAvgPool2d _avgpool;

    public TinyResNet(int numClasses = 5)
    {
        _conv1 = Child("conv1", new Conv2d(3, 8, 3, stride: 2, padding: 1, bias: false));
        _bn1 = Child("bn1", new BatchNorm2d(8));
        _relu = Child("relu", new Relu());
        _maxpool = Child("maxpool", new MaxPool2d(3, 2, 1));
        _layer1 = Child("layer1", new Sequential(new BasicBlock(8, 8)));
        var downsample = new Sequential(new Conv2d(8, 16, 1, stride: 2, bias: false), new BatchNorm2d(16));
        _layer2 = Child("layer2", new Sequential(new BasicBlock(8, 16, 2, downsample), new BasicBlock(16, 16)));
        _avgpool = Child("avgpool", new AdaptiveAvgPool2d(1));
        _classifier = Child("classifier", new Sequential(new Flatten(), new Dropout(0.2), new Linear(16, numClasses)));
    }

    public override Tensor Forward(Tensor x)
    {
        x = _maxpool.Forward(_relu.Forward(_bn1.Forward(_conv1.Forward(x))));
        x = _layer2.Forward(_layer1.Forward(x));
        return _classifier.Forward(_avgpool.Forward(x));
    }

    private sealed class BasicBlock : TensorModule
    {
        private readonly Conv2d _conv1, _conv2;
        private readonly BatchNorm2d _bn1, _bn2;
        private readonly Relu _relu;
        private readonly Sequential? _downsample;

        public BasicBlock(int inPlanes, int planes, int stride = 1, Sequential? downsample = null)
        {
            _conv1 = Child("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false));
            _bn1 = Child("bn1", new BatchNorm2d(planes));
            _relu = Child("relu", new Relu());
            _conv2 = Child("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
            _bn2 = Child("bn2", new BatchNorm2d(planes));
            if (downsample is not null) _downsample = Child("downsample", downsample);
        }

        public override Tensor Forward(Tensor x)
        {
            var y = _relu.Forward(_bn1.Forward(_conv1.Forward(x)));
            y = _bn2.Forward(_conv2.Forward(y));
            return _relu.Forward(y + (_downsample?.Forward(x) ?? x));
        }
    }
}
