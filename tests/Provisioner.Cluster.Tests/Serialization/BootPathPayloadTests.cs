using Akka.Actor;
using Provisioner.Cluster.Hosting;
using Provisioner.Domain.Leases;
using Provisioner.Domain.Machines;
using static Provisioner.Domain.Machines.MachineEvents;

namespace Provisioner.Cluster.Tests.Serialization;

/// <summary>
/// The Hyperion bytes of the persisted events that carry a boot path, as this version writes them (December 2026):
/// whatever a later version does to these types, journals holding these bytes must still read to the same facts.
/// A rename, a reordered or retyped field, or a new field fails here before it fails on a customer's journal.
/// </summary>
public sealed class BootPathPayloadTests(SerializationSystem fixture) : IClassFixture<SerializationSystem>
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 9, 23, 45, 876, TimeSpan.Zero);

    public static TheoryData<string> Names { get; } = ["DiscoveredOnPath", "FirstBootGrantedOnPath", "FirstBootLeaseGrantedOnPath"];

    private static object Expected(string name) => name switch
    {
        "DiscoveredOnPath" => new DiscoveredOnPath(At, 0, true, "lab", 1, BootPath.Relayed, "10.78.18.1", BootPath.Ipxe),
        "FirstBootGrantedOnPath" => new LeaseEvents.FirstBootGrantedOnPath(At, "52:54:00:78:00:01", "10.78.18.100", 7, false, "lab", BootPath.Relayed, "10.78.18.1", BootPath.Pxe),
        "FirstBootLeaseGrantedOnPath" => new LeaseEvents.FirstBootLeaseGrantedOnPath(At.AddSeconds(1), "52:54:00:78:00:01", "10.78.18.100", At.AddHours(1), At, 7, false, "lab", BootPath.Local, null, BootPath.HttpBoot),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static string Stored(string name) => name switch
    {
        "DiscoveredOnPath" =>
            "+04AAABQcm92aXNpb25lci5Eb21haW4uTWFjaGluZXMuTWFjaGluZUV2ZW50cytEaXNjb3ZlcmVkT25QYXRoLCBQcm92aXNpb25lci5Eb21haW4IHQAAADxBcmNoaXRlY3R1cmU+a19fQmFja2luZ0ZpZWxkEwAAADxBdD5rX19CYWNraW5nRmllbGQYAAAAPEF0dGVtcHQ+a19fQmFja2luZ0ZpZWxkGQAAADxGaXJtd2FyZT5rX19CYWNraW5nRmllbGQfAAAAPEZpcm13YXJlSXNJcHhlPmtfX0JhY2tpbmdGaWVsZBgAAAA8UHJvZmlsZT5rX19CYWNraW5nRmllbGQWAAAAPFJlbGF5PmtfX0JhY2tpbmdGaWVsZBQAAAA8VmlhPmtfX0JhY2tpbmdGaWVsZAgAAAAACkARNstDVN8IAAAAAAAAAAAIAQAAAAcFaXB4ZQYBBwRsYWIHCzEwLjc4LjE4LjEHBnJlbGF5",
        "FirstBootGrantedOnPath" =>
            "+1AAAABQcm92aXNpb25lci5Eb21haW4uTGVhc2VzLkxlYXNlRXZlbnRzK0ZpcnN0Qm9vdEdyYW50ZWRPblBhdGgsIFByb3Zpc2lvbmVyLkRvbWFpbgkYAAAAPEFkZHJlc3M+a19fQmFja2luZ0ZpZWxkHQAAADxBcmNoaXRlY3R1cmU+a19fQmFja2luZ0ZpZWxkEwAAADxBdD5rX19CYWNraW5nRmllbGQZAAAAPEZpcm13YXJlPmtfX0JhY2tpbmdGaWVsZB8AAAA8RmlybXdhcmVJc0lweGU+a19fQmFja2luZ0ZpZWxkFAAAADxNYWM+a19fQmFja2luZ0ZpZWxkGAAAADxQcm9maWxlPmtfX0JhY2tpbmdGaWVsZBYAAAA8UmVsYXk+a19fQmFja2luZ0ZpZWxkFAAAADxWaWE+a19fQmFja2luZ0ZpZWxkBw0xMC43OC4xOC4xMDAIBwAAAApAETbLQ1TfCAAAAAAAAAAABwRweGUGAAcSNTI6NTQ6MDA6Nzg6MDA6MDEHBGxhYgcLMTAuNzguMTguMQcGcmVsYXk=",
        "FirstBootLeaseGrantedOnPath" =>
            "+1UAAABQcm92aXNpb25lci5Eb21haW4uTGVhc2VzLkxlYXNlRXZlbnRzK0ZpcnN0Qm9vdExlYXNlR3JhbnRlZE9uUGF0aCwgUHJvdmlzaW9uZXIuRG9tYWluCxgAAAA8QWRkcmVzcz5rX19CYWNraW5nRmllbGQdAAAAPEFyY2hpdGVjdHVyZT5rX19CYWNraW5nRmllbGQTAAAAPEF0PmtfX0JhY2tpbmdGaWVsZBcAAAA8Qm9vdEF0PmtfX0JhY2tpbmdGaWVsZBoAAAA8RXhwaXJlc0F0PmtfX0JhY2tpbmdGaWVsZBkAAAA8RmlybXdhcmU+a19fQmFja2luZ0ZpZWxkHwAAADxGaXJtd2FyZUlzSXB4ZT5rX19CYWNraW5nRmllbGQUAAAAPE1hYz5rX19CYWNraW5nRmllbGQYAAAAPFByb2ZpbGU+a19fQmFja2luZ0ZpZWxkFgAAADxSZWxheT5rX19CYWNraW5nRmllbGQUAAAAPFZpYT5rX19CYWNraW5nRmllbGQHDTEwLjc4LjE4LjEwMAgHAAAACsCnzstDVN8IAAAAAAAAAAAKQBE2y0NU3wgAAAAAAAAAAApAefosTFTfCAAAAAAAAAAABwVodHRwBgAHEjUyOjU0OjAwOjc4OjAwOjAxBwRsYWIABwZsb2NhbA==",
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Stored_payload_still_reads_to_the_same_fact(string name)
    {
        var expected = Expected(name);
        var serializer = fixture.System.Serialization.FindSerializerFor(expected);
        var written = Convert.ToBase64String(serializer.ToBinary(expected));
        Assert.True(Stored(name).Length > 0, $"no stored payload for {name}; this version writes {written}");

        var read = serializer.FromBinary(Convert.FromBase64String(Stored(name)), expected.GetType());

        Assert.Equal(expected, read);
    }
}
