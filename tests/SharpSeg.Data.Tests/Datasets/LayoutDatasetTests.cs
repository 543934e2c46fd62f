using SharpSeg.Data.Datasets;

namespace SharpSeg.Data.Tests.Datasets;

public class LayoutDatasetTests
{
    [Fact]
    public void CityscapesPairsImagesWithTrainIdLabels()
    {
        using var tree = new TempTree();
        foreach (var (city, id) in new[] { ("bremen", "000001_000019"), ("aachen", "000000_000019") })
        {
            tree.WriteImage($"leftImg8bit/train/{city}/{city}_{id}_leftImg8bit.png", TempTree.Rgb(2, 2));
            tree.WriteImage($"gtFine/train/{city}/{city}_{id}_gtFine_labelTrainIds.png", TempTree.Label(2, 2, 0, 18, 255, 3));
            tree.WriteImage($"gtFine/train/{city}/{city}_{id}_gtFine_labelIds.png", TempTree.Label(2, 2, 7, 33, 0, 26));
        }
        var dataset = new CityscapesDataset(tree.Root);
        Assert.Equal(19, dataset.NumClasses);
        Assert.Equal(2, dataset.Count);
        Assert.EndsWith("aachen_000000_000019_leftImg8bit.png", dataset.Files[0].ImagePath);
        Assert.EndsWith("aachen_000000_000019_gtFine_labelTrainIds.png", dataset.Files[0].LabelPath);
        Assert.Equal([0, 18, 255, 3], dataset.Load(1).Label!.Pixels);

        File.Delete(tree.PathOf("gtFine/train/bremen/bremen_000001_000019_gtFine_labelTrainIds.png"));
        var error = Assert.Throws<FileNotFoundException>(() => new CityscapesDataset(tree.Root));
        Assert.Contains("bremen_000001_000019_leftImg8bit.png", error.Message);
    }

    [Fact]
    public void PascalVocReadsPaletteIndicesAndIgnoresBorder()
    {
        using var tree = new TempTree();
        byte[] palette = new byte[256 * 3];
        palette[3] = 128;               // class 1 = (128, 0, 0), VOC's aeroplane colour
        palette[255 * 3] = 224;         // 255 = (224, 224, 192), VOC's border colour
        palette[255 * 3 + 1] = 224;
        palette[255 * 3 + 2] = 192;
        tree.WriteImage("JPEGImages/2007_000032.jpg", TempTree.Rgb(2, 3));
        tree.WriteImage("SegmentationClass/2007_000032.png", TempTree.Label(2, 3, 0, 255, 1, 1, 255, 20), new PngWriteOptions { Palette = palette });
        tree.WriteText("ImageSets/Segmentation/train.txt", "2007_000032\n");
        tree.WriteText("ImageSets/Segmentation/val.txt", "2007_000033\n");

        var dataset = new PascalVocDataset(tree.Root);
        Assert.Equal(21, dataset.NumClasses);
        Assert.Equal([0, 255, 1, 1, 255, 20], dataset.Load(0).Label!.Pixels);

        var error = Assert.Throws<FileNotFoundException>(() => new PascalVocDataset(tree.Root, DatasetMode.Val));
        Assert.Contains("val.txt, line 1", error.Message);
        Assert.Contains("2007_000033.jpg", error.Message);
    }

    [Fact]
    public void Ade20kShiftsLabelsAndIgnoresZero()
    {
        using var tree = new TempTree();
        tree.WriteImage("images/training/ADE_train_00000001.jpg", TempTree.Rgb(1, 4));
        tree.WriteImage("annotations/training/ADE_train_00000001.png", TempTree.Label(1, 4, 0, 1, 3, 150));
        var dataset = new Ade20kDataset(tree.Root);
        Assert.Equal(150, dataset.NumClasses);
        Assert.Equal([255, 0, 2, 149], dataset.Load(0).Label!.Pixels);
    }

    [Fact]
    public void FolderPairsMatchByStem()
    {
        using var tree = new TempTree();
        tree.WriteImage("images/b.jpg", TempTree.Rgb(1, 2, seed: 2));
        tree.WriteImage("images/a.png", TempTree.Rgb(1, 2, seed: 1));
        tree.WriteImage("labels/a.png", TempTree.Label(1, 2, 1, 1));
        tree.WriteImage("labels/b.png", TempTree.Label(1, 2, 0, 1));
        tree.WriteText("images/notes.txt", "not an image");
        var dataset = new FolderPairDataset(tree.PathOf("images"), tree.PathOf("labels"), numClasses: 2);
        Assert.Equal(2, dataset.Count);
        Assert.Equal([1, 1], dataset.Load(0).Label!.Pixels);
        Assert.Equal([0, 1], dataset.Load(1).Label!.Pixels);
        Assert.Equal(2f, dataset.Load(1).Image[0, 0, 2]);
    }

    [Fact]
    public void FolderPairsRejectUnmatchedFiles()
    {
        using var tree = new TempTree();
        tree.WriteImage("images/a.png", TempTree.Rgb(1, 2));
        tree.WriteImage("images/b.png", TempTree.Rgb(1, 2));
        tree.WriteImage("labels/a.png", TempTree.Label(1, 2, 1, 1));
        var error = Assert.Throws<FileNotFoundException>(() => new FolderPairDataset(tree.PathOf("images"), tree.PathOf("labels"), 2));
        Assert.Contains("b.png", error.Message);
        Assert.Null(new FolderPairDataset(tree.PathOf("images"), tree.PathOf("labels"), 2, DatasetMode.Test).Load(1).Label);

        tree.WriteImage("labels/b.png", TempTree.Label(1, 2, 1, 1));
        tree.WriteImage("labels/c.png", TempTree.Label(1, 2, 1, 1));
        var orphan = Assert.Throws<InvalidDataException>(() => new FolderPairDataset(tree.PathOf("images"), tree.PathOf("labels"), 2));
        Assert.Contains("c.png", orphan.Message);
    }
}
