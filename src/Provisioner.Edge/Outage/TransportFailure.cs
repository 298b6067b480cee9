namespace Provisioner.Edge.Outage;

/// <summary>Which failures of an ask mean "no answer came" (the cores may have recorded it, or never seen it).</summary>
public static class TransportFailure
{
    /// <summary>
    /// An ask timeout (Akka's <see cref="Akka.Actor.AskTimeoutException"/>, or a <see cref="TimeoutException"/>), or a
    /// cancellation that is not the caller's own (<paramref name="callerToken"/> not cancelled). A caller's cancellation
    /// is not a transport failure: the caller gave up, nothing is to be answered or kept for later.
    /// </summary>
    public static bool Is(Exception e, CancellationToken callerToken) =>
        e is Akka.Actor.AskTimeoutException or TimeoutException
        || (e is OperationCanceledException && !callerToken.IsCancellationRequested);
}
