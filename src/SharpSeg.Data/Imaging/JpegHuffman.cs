using System.Runtime.CompilerServices;

namespace SharpSeg.Data;

/// <summary>A JPEG Huffman table (DHT) with a 9-bit lookahead table for the common short codes.</summary>
internal sealed class JpegHuffmanTable
{
    public const int LookaheadBits = 9;

    private readonly byte[] _values;
    private readonly int[] _maxCode = new int[18];
    private readonly int[] _valueOffset = new int[17];
    private readonly ushort[] _lookahead = new ushort[1 << LookaheadBits];

    /// <exception cref="InvalidDataException">The counts list more codes of some length than the shorter codes leave room for.</exception>
    public JpegHuffmanTable(ReadOnlySpan<byte> counts, byte[] values)
    {
        // Check the whole table first (T.81 Annex C): the lookahead fill below indexes by code, so a length with
        // more codes than it has room for would write outside the lookahead table.
        int room = 1;
        for (int length = 1; length <= 16; length++)
        {
            room = 2 * room;
            if (counts[length - 1] > room)
                throw new InvalidDataException(
                    $"Huffman table has {counts[length - 1]} codes of length {length}, but the shorter codes leave room for only {room}");
            room -= counts[length - 1];
        }

        _values = values;
        int code = 0, k = 0;
        for (int length = 1; length <= 16; length++)
        {
            _valueOffset[length] = k - code;
            for (int i = 0; i < counts[length - 1]; i++, k++, code++)
            {
                if (length <= LookaheadBits)
                {
                    int shift = LookaheadBits - length;
                    for (int fill = 0; fill < 1 << shift; fill++)
                        _lookahead[(code << shift) | fill] = (ushort)((length << 8) | values[k]);
                }
            }
            _maxCode[length] = counts[length - 1] == 0 ? -1 : code - 1;
            code <<= 1;
        }
        _maxCode[17] = int.MaxValue;
    }

    /// <summary>Decodes one symbol; null when the bits form no code of this table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int? Decode(ref JpegBitReader reader)
    {
        int peek = reader.Peek(LookaheadBits);
        ushort entry = _lookahead[peek];
        if (entry != 0)
        {
            reader.Skip(entry >> 8);
            return entry & 0xFF;
        }
        int code = reader.Peek(LookaheadBits);
        int length = LookaheadBits;
        reader.Skip(LookaheadBits);
        while (length < 16 && code > _maxCode[length])
        {
            code = (code << 1) | reader.ReadBit();
            length++;
        }
        if (code > _maxCode[length])
            return null;
        int index = code + _valueOffset[length];
        return index >= 0 && index < _values.Length ? _values[index] : null;
    }
}

/// <summary>
/// Reads the entropy-coded segment of a scan bit by bit, removing byte stuffing (FF 00). At a marker it
/// supplies zero bits, as libjpeg does, and remembers whether it ran past the marker or past the end of data.
/// </summary>
internal struct JpegBitReader(byte[] data, int position)
{
    private ulong _buffer;
    private int _count;
    private int _paddingBits;

    public int Position { get; private set; } = position;

    /// <summary>True once a marker (FF xx, xx ≠ 0) stopped the reader; <see cref="Position"/> is at its FF.</summary>
    public bool AtMarker { get; private set; }

    /// <summary>True once the data ended without a marker.</summary>
    public bool AtEnd { get; private set; }

    /// <summary>True when bits were consumed that were not in the data (zero padding after a marker or the end).</summary>
    public readonly bool Overran => _count < _paddingBits;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Fill()
    {
        while (_count <= 56)
        {
            int next = 0;
            if (AtMarker || AtEnd)
            {
                _paddingBits += 8;
            }
            else if (Position >= data.Length)
            {
                AtEnd = true;
                _paddingBits += 8;
            }
            else if (data[Position] != 0xFF)
            {
                next = data[Position++];
            }
            else if (Position + 1 >= data.Length)
            {
                AtEnd = true;
                _paddingBits += 8;
            }
            else if (data[Position + 1] == 0)
            {
                next = 0xFF;
                Position += 2;
            }
            else
            {
                AtMarker = true;
                _paddingBits += 8;
            }
            _buffer |= (ulong)next << (56 - _count);
            _count += 8;
        }
    }

    public int Peek(int bits)
    {
        if (_count < bits)
            Fill();
        return (int)(_buffer >> (64 - bits));
    }

    public void Skip(int bits)
    {
        _buffer <<= bits;
        _count -= bits;
    }

    public int ReadBit()
    {
        int bit = Peek(1);
        Skip(1);
        return bit;
    }

    public int ReadBits(int bits)
    {
        if (bits == 0)
            return 0;
        int value = Peek(bits);
        Skip(bits);
        return value;
    }

    /// <summary>Reads <paramref name="bits"/> bits and sign-extends them as JPEG's EXTEND procedure does.</summary>
    public int ReceiveExtend(int bits)
    {
        if (bits == 0)
            return 0;
        int value = ReadBits(bits);
        return value < 1 << (bits - 1) ? value - (1 << bits) + 1 : value;
    }

    /// <summary>Drops buffered bits and moves <see cref="Position"/> to the next marker's FF (or the end).</summary>
    public void SeekMarker()
    {
        _buffer = 0;
        _count = 0;
        _paddingBits = 0;
        AtEnd = false;
        AtMarker = false;
        while (Position < data.Length && !(data[Position] == 0xFF && Position + 1 < data.Length && data[Position + 1] != 0 && data[Position + 1] != 0xFF))
            Position++;
    }
}
