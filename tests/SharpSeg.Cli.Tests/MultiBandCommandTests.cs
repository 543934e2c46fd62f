using BitMiracle.LibTiff.Classic;
using SharpSeg.Data;
using SharpSeg.Data.Synthetic;

namespace SharpSeg.Cli.Tests;

/// <summary>Four-band TIFF images through train and predict: the fourth band is never dropped and a model for three is refused.</summary>
public sealed class MultiBandCommandTests
{
    /// <summary>
    /// The synthetic file list with every image rewritten as a 4-band 8-bit TIFF (the RGB bands plus their inverted red band),
    /// written with LibTiff.NET; the lists point at the .tif files.
    /// </summary>
    private static void WriteFourBandFileList(TempFolder folder, int train, int val)
    {
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 3, Seed: 5), train, val);
        foreach (string file in Directory.GetFiles(folder["images"], "*.png"))
        {
            var rgb = (Image<byte>)ImageFile.Read(file);
            var bands = new byte[rgb.Height * rgb.Width * 4];
            for (int p = 0; p < rgb.Height * rgb.Width; p++)
            {
                rgb.Pixels.AsSpan(3 * p, 3).CopyTo(bands.AsSpan(4 * p));
                bands[4 * p + 3] = (byte)(255 - rgb.Pixels[3 * p]);
            }
            WriteTiff(Path.ChangeExtension(file, ".tif"), rgb.Height, rgb.Width, 4, bands);
            File.Delete(file);
        }
        foreach (string list in new[] { "train.txt", "val.txt" })
        {
            string path = Path.Combine(folder.Path, list);
            File.WriteAllLines(path, File.ReadAllLines(path).Select(line => line.Replace(".png ", ".tif ", StringComparison.Ordinal)));
        }
    }

    internal static void WriteTiff(string path, int height, int width, int bands, byte[] chunky)
    {
        using var tiff = Tiff.Open(path, "w");
        tiff.SetField(TiffTag.IMAGEWIDTH, width);
        tiff.SetField(TiffTag.IMAGELENGTH, height);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, bands);
        tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
        tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.EXTRASAMPLES, bands - 1, Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, bands - 1).ToArray());
        tiff.SetField(TiffTag.COMPRESSION, Compression.DEFLATE);
        tiff.SetField(TiffTag.ROWSPERSTRIP, height);
        tiff.WriteEncodedStrip(0, chunky, chunky.Length);
    }

    private static string[] Tiny(TempFolder folder) =>
        ["--data", folder.Path, "--model", "unet", "--batch-size", "2", "--epochs", "1"];

    [Fact]
    public void Four_band_tiffs_train_and_predict_with_four_input_channels_and_a_three_channel_model_is_refused()
    {
        using var folder = new TempFolder();
        WriteFourBandFileList(folder, train: 4, val: 2);
        Assert.Equal(4, ImageFile.Read(Path.Combine(folder["images"], "000000.tif")).Channels);
        string run = folder["run"];

        var refused = CliRunner.Run(["train", .. Tiny(folder), "--save-dir", folder["refused"]]);

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("000000.tif has 4 bands", refused.Error);
        Assert.Contains("--in-channels 4", refused.Error);

        var trained = CliRunner.Run(["train", .. Tiny(folder), "--in-channels", "4", "--save-dir", run]);

        Assert.True(trained.ExitCode == 0, trained.Error);
        var predicted = CliRunner.Run("predict", "--model-dir", Path.Combine(run, "best_model"), Path.Combine(folder["images"], "000004.tif"),
            "--output", folder["predictions"]);
        Assert.True(predicted.ExitCode == 0, predicted.Error);
        var label = ImageFile.Read(Path.Combine(folder["predictions"], "000004_label.png"));
        Assert.Equal((16, 16, 1), (label.Height, label.Width, label.Channels));

        // With the image at full weight the overlay is the chosen bands themselves (8-bit bands are shown as stored).
        var bands = (Image<byte>)ImageFile.Read(Path.Combine(folder["images"], "000004.tif"));
        foreach (var (option, chosen) in new[] { ((string?)null, new[] { 1, 2, 3 }), ("4,2,1", new[] { 4, 2, 1 }) })
        {
            string outputs = folder[option is null ? "default-bands" : "chosen-bands"];
            var shown = CliRunner.Run(["predict", "--model-dir", Path.Combine(run, "best_model"), Path.Combine(folder["images"], "000004.tif"),
                "--output", outputs, "--overlay-weight", "1", .. option is null ? Array.Empty<string>() : ["--display-bands", option]]);
            Assert.True(shown.ExitCode == 0, shown.Error);
            var overlay = (Image<byte>)ImageFile.Read(Path.Combine(outputs, "000004_overlay.png"));
            Assert.Equal(3, overlay.Channels);
            for (int p = 0; p < 16 * 16; p++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(bands.Pixels[4 * p + chosen[c] - 1], overlay.Pixels[3 * p + c]);
        }

        var missing = CliRunner.Run("predict", "--model-dir", Path.Combine(run, "best_model"), Path.Combine(folder["images"], "000004.tif"),
            "--output", folder["missing"], "--display-bands", "5,2,1");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("band 5 does not exist; the image has bands 1–4 (numbered from 1, as GDAL does)", missing.Error);
    }
}
