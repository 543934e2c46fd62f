using System.Globalization;
using System.Text;

namespace SharpSeg.Bench;

/// <summary>Builds one flat JSON object per output line.</summary>
internal sealed class JsonLine
{
    private readonly StringBuilder _text = new("{");

    public JsonLine Add(string key, string value)
    {
        Separator(key);
        _text.Append('"');
        foreach (char ch in value)
        {
            if (ch is '"' or '\\') _text.Append('\\');
            if (ch < ' ') _text.Append(' ');
            else _text.Append(ch);
        }
        _text.Append('"');
        return this;
    }

    public JsonLine Add(string key, double value, int decimals = 3)
    {
        Separator(key);
        _text.Append(double.IsFinite(value) ? Math.Round(value, decimals).ToString("R", CultureInfo.InvariantCulture) : "null");
        return this;
    }

    private void Separator(string key)
    {
        if (_text.Length > 1) _text.Append(", ");
        _text.Append('"').Append(key).Append("\": ");
    }

    public override string ToString() => _text.Append('}').ToString();
}
