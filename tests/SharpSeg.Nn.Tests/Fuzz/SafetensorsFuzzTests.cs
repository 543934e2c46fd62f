using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using SharpSeg.Tests.Fuzz;
using Xunit.Abstractions;

namespace SharpSeg.Nn.Tests.Fuzz;

/// <summary>
/// The safetensors reader under bad input (issue 12): the fuzzer's reproducers, and a seeded mutation fuzz test in which
/// every case must load or fail with <see cref="SafetensorsFormatException"/>, the reader's documented exception.
/// </summary>
public partial class SafetensorsFuzzTests(ITestOutputHelper output)
{
    private static readonly int Cases = FuzzReport.CasesPerFormat(3000);

    /// <summary>A file: the 8-byte header length, <paramref name="header"/> as given (any bytes), then <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] File(byte[] header, int dataBytes)
    {
        var file = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        return file;
    }

    private static SafetensorsFormatException Fails(byte[] file) =>
        Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(new MemoryStream(file), "bad.safetensors"));

    [Theory]
    [InlineData("{\"a", "b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 3)]
    [InlineData("{\"__metadata__\":{\"k\":\"", "\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 22)]
    [InlineData("{\"a\":{\"dtype\":\"F", "\",\"shape\":[1],\"data_offsets\":[0,4]}}", 16)]
    public void Invalid_utf8_in_the_header_is_a_format_error_naming_the_offset(string before, string after, int offset)
    {
        byte[] header = [.. Encoding.ASCII.GetBytes(before), 0xFF, .. Encoding.ASCII.GetBytes(after)];

        var error = Fails(File(header, 4));

        Assert.Equal($"bad.safetensors: header is not valid UTF-8 (byte 0xFF at header offset {offset}, file offset {8 + offset})", error.Message);
        Assert.Null(error.Key);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]        // a lead byte without its continuation
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]  // an encoded UTF-16 surrogate
    [InlineData(new byte[] { 0xE2, 0x82 })]        // a sequence cut short
    public void Every_kind_of_invalid_utf8_is_caught(byte[] sequence)
    {
        byte[] header = [.. "{\"a"u8, .. sequence, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];

        var error = Fails(File(header, 4));

        Assert.StartsWith($"bad.safetensors: header is not valid UTF-8 (byte 0x{sequence[0]:X2} at header offset 3", error.Message);
    }

    [Fact]
    public void An_escaped_lone_surrogate_in_a_name_is_a_format_error()
    {
        byte[] header = "{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8.ToArray();

        var error = Fails(File(header, 4));

        Assert.StartsWith("bad.safetensors: header is not valid JSON (", error.Message);
        Assert.Contains("surrogate", error.Message);
    }

    [Fact]
    public void An_empty_shape_whose_other_dimensions_overflow_the_strides_is_a_format_error()
    {
        byte[] header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,2147483647,2147483647],\"data_offsets\":[0,0]}}"u8.ToArray();

        var error = Fails(File(header, 0));

        Assert.Equal("bad.safetensors: tensor 'a': shape [0, 2147483647, 2147483647] has no elements, but its non-zero dimensions " +
                     $"multiply to more than a tensor can index ({Array.MaxLength})", error.Message);
        Assert.Equal("a", error.Key);
    }

    [Fact]
    public void An_empty_shape_whose_other_dimensions_fit_loads()
    {
        byte[] header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[46340,0,46340],\"data_offsets\":[0,0]}}"u8.ToArray();

        var tensor = Safetensors.Read(new MemoryStream(File(header, 0)), "empty.safetensors").Tensors["a"];

        Assert.Equal(new Shape(46340, 0, 46340), tensor.Shape);
        Assert.Empty(tensor.ToArray());
    }

    // ---- fuzzing ----

    private static (byte[] Header, byte[] Data)? Split(byte[] file)
    {
        if (file.Length < 8)
            return null;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return length > (ulong)(file.Length - 8) ? null : (file[8..(8 + (int)length)], file[(8 + (int)length)..]);
    }

    private static Mutator.Edit OnHeader(Func<string, Random, string?> edit) => (file, random) =>
    {
        var parts = Split(file);
        if (parts is null)
            return null;
        string? header = edit(Encoding.Latin1.GetString(parts.Value.Header), random);
        if (header is null)
            return null;
        var bytes = Encoding.Latin1.GetBytes(header);
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)bytes.Length);
        return Mutator.Concat(prefix, bytes, parts.Value.Data);
    };

    private static readonly string[] Numbers =
        ["0", "1", "-1", "3", "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
         "18446744073709551615", "1e400", "1.5", "99999999999999999999", "46341"];

    private static readonly string[] DTypes =
        ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F7", "", "f32"];

    private static readonly string[] Insertions =
        ["\xFF", "\xC3(", "\xED\xA0\x80", "\x80", "\xE2\x82", "\\ud800", "\\udc00x", "\\u0000", "\"", "\\", "{", "]"];

    private static readonly (string, Mutator.Edit)[] HeaderEdits =
    [
        ("number", OnHeader((h, r) => Mutator.ReplaceRandomMatch(h, Number(), Numbers[r.Next(Numbers.Length)], r))),
        ("dtype", OnHeader((h, r) => Mutator.ReplaceRandomMatch(h, DTypeValue(), $"\"dtype\":\"{DTypes[r.Next(DTypes.Length)]}\"", r))),
        ("shape", OnHeader((h, r) => Mutator.ReplaceRandomMatch(h, ShapeValue(),
            $"\"shape\":[{string.Join(",", Enumerable.Range(0, r.Next(5)).Select(_ => Numbers[r.Next(Numbers.Length)]))}]", r))),
        ("offsets", OnHeader((h, r) => Mutator.ReplaceRandomMatch(h, OffsetsValue(),
            $"\"data_offsets\":[{Numbers[r.Next(Numbers.Length)]},{Numbers[r.Next(Numbers.Length)]}]", r))),
        ("insert into a string", OnHeader((h, r) =>
        {
            int quote = h.IndexOf('"', r.Next(h.Length));
            return quote < 0 ? null : h.Insert(quote + 1, Insertions[r.Next(Insertions.Length)]);
        })),
        ("deep nesting", OnHeader((h, r) =>
        {
            int depth = 1 + r.Next(200);
            return Mutator.ReplaceRandomMatch(h, ShapeValue(), $"\"shape\":{new string('[', depth)}1{new string(']', depth)}", r);
        })),
        ("metadata value", OnHeader((h, r) => h.Replace("\"__metadata__\":{", $"\"__metadata__\":{{\"x\":{Numbers[r.Next(Numbers.Length)]},", StringComparison.Ordinal))),
        ("data bytes", (file, r) =>
        {
            var parts = Split(file);
            if (parts is null || parts.Value.Data.Length == 0) return null;
            var copy = (byte[])file.Clone();
            int dataStart = 8 + parts.Value.Header.Length;
            r.NextBytes(copy.AsSpan(dataStart + r.Next(parts.Value.Data.Length)));
            return copy;
        }),
        ("header length", (file, r) =>
        {
            if (file.Length < 8) return null;
            var copy = (byte[])file.Clone();
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(copy);
            BinaryPrimitives.WriteUInt64LittleEndian(copy, r.Next(2) == 0 ? length + (ulong)r.Next(-8, 9) : Mutator.Boundary32[r.Next(Mutator.Boundary32.Length)] | (r.Next(4) == 0 ? 1UL << 63 : 0));
            return copy;
        }),
    ];

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex Number();

    [GeneratedRegex(@"""dtype"":""[^""]*""")]
    private static partial Regex DTypeValue();

    [GeneratedRegex(@"""shape"":\[[^\]]*\]")]
    private static partial Regex ShapeValue();

    [GeneratedRegex(@"""data_offsets"":\[[^\]]*\]")]
    private static partial Regex OffsetsValue();

    private static byte[] Written(IEnumerable<KeyValuePair<string, Tensor>> tensors, Dictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    [Fact]
    public void Mutated_files_load_or_fail_with_SafetensorsFormatException()
    {
        (string, byte[])[] seeds =
        [
            ("dtypes.safetensors", System.IO.File.ReadAllBytes(Golden.PathOf("dtypes.safetensors"))),
            ("small model", Written([
                new("w", Tensor.FromArray([1f, 2, 3, 4, 5, 6], 2, 3)), new("b", Tensor.FromArray([7, 8, 9], 3)),
                new("step", Tensor.FromArray([42L])), new("e", Tensor.Zeros(0, 4))], new() { ["format"] = "pt" })),
            ("one tensor", Written([new("x", Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), 4, 4))])),
        ];

        var report = FuzzReport.Run<SafetensorsFormatException>("safetensors", seeds, Cases, seed: 6, new Mutator(HeaderEdits),
            (data, _) => Safetensors.Read(new MemoryStream(data), "fuzz"));

        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Decoded, Cases / 20, Cases);
        Assert.InRange(report.Refused, Cases / 20, Cases);
    }
}
