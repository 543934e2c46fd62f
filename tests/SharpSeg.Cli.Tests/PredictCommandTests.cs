using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Training;
using SharpSeg.Training.Visualization;

namespace SharpSeg.Cli.Tests;

/// <summary>A tiny saved DeepLabV3+ shared by the prediction tests (building and saving it is the slow part).</summary>
public sealed class TinyCheckpoint : IDisposable
{
    public TinyCheckpoint()
    {
        Engine.ManualSeed(5);
        var options = new DeepLabV3PlusOptions(3, Backbone: "resnet18_vd", AsppOutChannels: 8, LowLevelChannels: 8);
        var segmenter = new Segmenter("deeplabv3p", 3, options: options, classNames: ["sky", "road", "car"]) { Transforms = new Normalize() };
        segmenter.Save(ModelFolder);
    }

    private readonly TempFolder _folder = new();
    private Segmenter? _loaded;

    public string ModelFolder => _folder["model"];

    /// <summary>The saved model loaded in-process, the reference the command's files are compared with.</summary>
    public Segmenter Loaded => _loaded ??= Segmenter.Load(ModelFolder);

    /// <summary>A deterministic RGB image with structure (gradients and a block) so predictions vary over it.</summary>
    public static Image<byte> MakeImage(int height, int width, int seed)
    {
        var random = new Random(seed);
        var image = new Image<byte>(height, width, 3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bool block = y > height / 3 && x > width / 2;
                image[y, x, 0] = (byte)(block ? 240 : 255 * x / width);
                image[y, x, 1] = (byte)(255 * y / height);
                image[y, x, 2] = (byte)random.Next(256);
            }
        return image;
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary><c>predict</c> writes label, pseudo-colour and overlay PNGs equal to the library's prediction of the saved model.</summary>
public sealed class PredictCommandTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    [Fact]
    public void Predict_writes_label_pseudo_colour_and_overlay_PNGs_of_the_image_size_with_the_models_labels()
    {
        using var folder = new TempFolder();
        var image = TinyCheckpoint.MakeImage(24, 40, seed: 1);
        ImageFile.WritePng(folder["scene.png"], image);

        var result = CliRunner.Run("predict", "--model-dir", checkpoint.ModelFolder, folder["scene.png"], "-o", folder["out"]);

        Assert.Equal(0, result.ExitCode);
        var expected = checkpoint.Loaded.Predict(image).LabelMap;
        var label = ImageFile.Read(folder["out/scene_label.png"]);
        var pseudo = ImageFile.Read(folder["out/scene_pseudo.png"], new ImageReadOptions { Palette = PaletteMode.Rgb });
        var overlay = ImageFile.Read(folder["out/scene_overlay.png"]);
        Assert.Equal((24, 40, 1), (label.Height, label.Width, label.Channels));
        Assert.Equal((24, 40, 3), (pseudo.Height, pseudo.Width, pseudo.Channels));
        Assert.Equal((24, 40, 3), (overlay.Height, overlay.Width, overlay.Channels));
        Assert.Equal(expected.Pixels, label.ToInt32().Pixels);

        // Colours and blend by the definitions: PaddleSeg's palette, and 0.6 · image + 0.4 · colour rounded half to even.
        var palette = LabelVisualizer.Palette();
        var pseudoBytes = (Image<byte>)pseudo;
        var overlayBytes = (Image<byte>)overlay;
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 40; x++)
                for (int c = 0; c < 3; c++)
                {
                    byte colour = palette[3 * expected[y, x] + c];
                    Assert.Equal(colour, pseudoBytes[y, x, c]);
                    Assert.Equal((byte)Math.Round(0.6 * image[y, x, c] + 0.4 * colour, MidpointRounding.ToEven), overlayBytes[y, x, c]);
                }
        Assert.False(File.Exists(folder["out/scene_scores.npy"]));
    }

    [Fact]
    public void Tiled_prediction_with_scores_equals_the_librarys_overlap_tile_prediction()
    {
        using var folder = new TempFolder();
        var image = TinyCheckpoint.MakeImage(40, 56, seed: 2);
        ImageFile.WritePng(folder["big.png"], image);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["big.png"], "-o", folder["out"],
            "--tile", "32,16", "--pad", "8,4", "--batch-size", "3", "--npy");

        Assert.Equal(0, result.ExitCode);
        var expected = checkpoint.Loaded.OverlapTilePredict(image, (32, 16), (8, 4), batchSize: 3);
        Assert.Equal(expected.LabelMap.Pixels, ImageFile.Read(folder["out/big_label.png"]).ToInt32().Pixels);
        var scores = ImageFile.Read(folder["out/big_scores.npy"]);
        Assert.Equal((40, 56, 3), (scores.Height, scores.Width, scores.Channels));
        Assert.Equal(expected.ScoreMap.Pixels, ((Image<float>)scores).Pixels);
    }

    [Fact]
    public void A_folder_and_a_file_list_are_predicted_image_by_image_keeping_relative_names()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["images/sub"]);
        ImageFile.WritePng(folder["images/a.png"], TinyCheckpoint.MakeImage(16, 16, 3));
        ImageFile.WritePng(folder["images/b.png"], TinyCheckpoint.MakeImage(20, 12, 4));
        ImageFile.WritePng(folder["images/sub/c.png"], TinyCheckpoint.MakeImage(8, 24, 5));
        File.WriteAllText(folder["images/notes.md"], "not an image");
        File.WriteAllLines(folder["list.txt"], ["images/a.png labels/a.png", "", "images/sub/c.png"]);

        var fromFolder = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["images"], "-o", folder["out1"]);
        var fromList = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["list.txt"], "-o", folder["out2"]);

        Assert.Equal(0, fromFolder.ExitCode);
        Assert.Equal(["a_label.png", "a_overlay.png", "a_pseudo.png", "b_label.png", "b_overlay.png", "b_pseudo.png"],
            Directory.GetFiles(folder["out1"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(0, fromList.ExitCode);
        var c = ImageFile.Read(folder["out2/images/sub/c_label.png"]);
        Assert.Equal((8, 24), (c.Height, c.Width));
        Assert.True(File.Exists(folder["out2/images/a_overlay.png"]));
    }

    [Fact]
    public void A_corrupt_image_fails_with_exit_1_naming_the_file()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder["broken.png"], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["broken.png"], "-o", folder["out"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(folder["broken.png"], result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void A_missing_image_in_a_file_list_names_the_list_and_line()
    {
        using var folder = new TempFolder();
        File.WriteAllLines(folder["list.txt"], ["", "missing.png"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["list.txt"], "-o", folder["out"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{folder["list.txt"]}, line 2: image {folder["missing.png"]} does not exist.", result.Error);
    }
}

/// <summary>A one-epoch training run of a tiny DeepLabV3+ whose <c>epoch_1</c> checkpoint the resume tests start from.</summary>
public sealed class TinyTrainingRun : IDisposable
{
    public TinyTrainingRun()
    {
        var result = CliRunner.Run(["train", .. ResumeArgumentTests.TinySynthetic, "--backbone", "resnet18_vd", "--epochs", "1", "--batch-size", "2",
            "--save-dir", _folder["run"]]);
        Assert.Equal(0, result.ExitCode);
    }

    private readonly TempFolder _folder = new();

    public string EpochFolder => _folder["run/epoch_1"];

    public void Dispose() => _folder.Dispose();
}

/// <summary><c>train --resume</c> rebuilds the checkpoint's model and refuses contradicting model options.</summary>
public sealed class ResumeArgumentTests(TinyTrainingRun run) : IClassFixture<TinyTrainingRun>
{
    internal static readonly string[] TinySynthetic =
        ["--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-train", "2", "--synthetic-val", "1"];

    [Fact]
    public void A_model_or_backbone_other_than_the_checkpoints_is_a_usage_error()
    {
        var otherModel = CliRunner.Run(["train", .. TinySynthetic, "--epochs", "2", "--resume", run.EpochFolder, "--model", "unet"]);
        var otherBackbone = CliRunner.Run(["train", .. TinySynthetic, "--epochs", "2", "--resume", run.EpochFolder, "--backbone", "resnet34_vd"]);

        Assert.Equal(2, otherModel.ExitCode);
        Assert.Contains($"--model is unet but the checkpoint {run.EpochFolder} holds deeplabv3p.", otherModel.Error);
        Assert.Equal(2, otherBackbone.ExitCode);
        Assert.Contains($"--backbone is resnet34_vd but the checkpoint {run.EpochFolder} holds resnet18_vd.", otherBackbone.Error);
    }

    [Fact]
    public void A_missing_resume_folder_is_a_usage_error()
    {
        string missing = Path.Combine(Path.GetTempPath(), "sharpseg-no-such-checkpoint-" + Guid.NewGuid().ToString("N"));

        var result = CliRunner.Run(["train", .. TinySynthetic, "--resume", missing]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--resume: folder '{missing}' does not exist.", result.Error);
    }
}
