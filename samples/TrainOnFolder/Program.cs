// Trains a segmentation model on a folder laid out as PaddleSeg expects:
//   DATA/train.txt, DATA/val.txt   one "image label" pair per line, paths relative to DATA
//   DATA/images/..., DATA/labels/...  labels are 8-bit PNGs holding class ids (255 = ignore)
// Usage: dotnet run -- DATA [epochs] [model] [--demo]
//   --demo first writes a small generated dataset into DATA, so the sample runs with nothing downloaded.
// The best model lands in DATA/output/best_model; PredictLargeImage and ExportOnnx take that folder.
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Training;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: TrainOnFolder DATA [epochs] [model] [--demo]");
    return 2;
}
string data = args[0];
int epochs = args.Length > 1 && int.TryParse(args[1], out int e) ? e : 10;
string model = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? args[2] : "unet";

if (args.Contains("--demo"))
    // 8 training and 2 validation images of 64×64 pixels with 3 classes: seconds per epoch on a laptop.
    SyntheticDataset.WriteFileList(data, new SyntheticOptions(Height: 64, Width: 64, NumClasses: 3), trainCount: 8, valCount: 2);

// The class count is the number of lines in labels.txt when the folder has one (the demo writes it).
string labelsFile = Path.Combine(data, "labels.txt");
string[] classNames = File.Exists(labelsFile) ? File.ReadAllLines(labelsFile).Where(l => l.Length > 0).ToArray() : ["background", "object"];

// Random flips only while training; both sets are normalised the same way (PaddleSeg's Normalize, mean = std = 0.5).
var train = new FileListDataset(data, Path.Combine(data, "train.txt"), classNames.Length,
    transforms: new Compose(new RandomHorizontalFlip(), new Normalize()));
var val = new FileListDataset(data, Path.Combine(data, "val.txt"), classNames.Length, DatasetMode.Val,
    transforms: new Compose(new Normalize()));

var segmenter = new Segmenter(model, classNames.Length, classNames: classNames);
var result = segmenter.Train(epochs, train, trainBatchSize: 4, evalDataset: val, saveDir: Path.Combine(data, "output"),
    learningRate: 0.01, options: new TrainingOptions { OverwriteSaveDir = true });

var last = result.Evaluations[^1];
Console.WriteLine($"trained {result.EpochsCompleted} epochs; last mIoU {last.Metrics.MeanIou:F4}; model in {Path.Combine(data, "output", "best_model")}");
return 0;
