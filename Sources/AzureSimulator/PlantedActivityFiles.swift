/// Writes a planted scenario's Activity Log in every shape scenario-1 has (formats.md §1–§3):
///
/// - `activity/rest-page-NNN.json` — ARM list-API pages, newest first (the bulk generator's writer);
/// - `activity/PT1H-YYYYMMDDHH.json` — every event again in the diagnostic-settings export shape,
///   JSON lines, in the file of the hour it was received (its submission time);
/// - `activity/eventhub-YYYYMMDDHH.json` — some of those hours once more, as Event Hub bodies
///   `{"records": […]}`;
/// - `activity/az-activity-log-list.json` — a four-hour slice as `az monitor activity-log list`
///   prints it (a bare array of REST-shape events).
///
/// Every event is the same event in each shape; an importer must count it once.
struct PlantedActivityFiles {
    let events: [GeneratorActivityEvent]
    let records: ActivityRecordWriter
    let windowStart: Int64
    let windowEnd: Int64
    let seed: UInt64

    func write(root: String, writer: inout GeneratorFileWriter) throws(GeneratorError) {
        var options = GeneratorOptions()
        options.seed = seed
        options.start = windowStart / 10
        options.days = Int((windowEnd - windowStart + PlantedTime.day - 1) / PlantedTime.day)
        try ScenarioGenerator.writeRESTPages(root: root, events: events, records: records, options: options, writer: &writer)

        var rng = GeneratorRandom(seed: seed, stream: 16)
        let bySubmission = events.sorted { $0.submission != $1.submission ? $0.submission < $1.submission : $0.sequence < $1.sequence }
        var hours: [(hour: Int64, events: [GeneratorActivityEvent])] = []
        for e in bySubmission {
            let hour = e.submission / PlantedTime.hour
            if hours.last?.hour == hour { hours[hours.count - 1].events.append(e) } else { hours.append((hour, [e])) }
        }
        var buffer = GeneratorBuffer(capacity: 1 << 18)
        var eventHubHours = 0
        for (n, group) in hours.enumerated() {
            let stamp = PlantedTraffic.hourStamp(group.hour * PlantedTime.hour)
            buffer.removeAll()
            for e in group.events { records.appendExport(e, into: &buffer) }
            try writer.write(buffer, to: root + "/activity/PT1H-" + stamp + ".json")
            // About a third of the hours also arrive through Event Hub (at least one does).
            if rng.chance(0.35) || (eventHubHours == 0 && n == hours.count - 1) {
                eventHubHours += 1
                var body = GeneratorBuffer(capacity: buffer.count + 64)
                body.raw(#"{"records": ["#)
                var line = GeneratorBuffer(capacity: 4096)
                for (k, e) in group.events.enumerated() {
                    line.removeAll()
                    records.appendExport(e, into: &line)
                    if k > 0 { body.raw(", ") }
                    body.raw(Array(line.bytes.dropLast()))  // without its newline
                }
                body.raw("]}\n")
                try writer.write(body, to: root + "/activity/eventhub-" + stamp + ".json")
            }
        }

        let span = min(4 * PlantedTime.hour, windowEnd - windowStart)
        let sliceStart = windowStart + rng.int64(max(1, windowEnd - windowStart - span + 1))
        let slice = events.filter { $0.time >= sliceStart && $0.time < sliceStart + span }
            .sorted { $0.time != $1.time ? $0.time > $1.time : $0.sequence > $1.sequence }
        buffer.removeAll()
        buffer.raw("[")
        for (k, e) in slice.enumerated() {
            buffer.raw(k == 0 ? "\n  " : ",\n  ")
            records.appendREST(e, into: &buffer)
        }
        buffer.raw(slice.isEmpty ? "]\n" : "\n]\n")
        try writer.write(buffer, to: root + "/activity/az-activity-log-list.json")
    }
}
