//! Datasets read as data: the text cells of a Parquet file and of an Arrow
//! IPC file or stream, each handed on with its place (the 0-based row in
//! the file, the dotted path of its leaf column), so that a finding says
//! "row 1234, column messages.list.element.content" rather than a line of
//! a binary file. Recognised by content (magic bytes), like archives.
//!
//! Only string and binary leaf columns are read, value by value, nested
//! ones (list, struct, map) included; numbers are never decoded. Parquet is
//! read a column chunk at a time (only its bytes copied out of the file)
//! through the low-level column readers, a few values at a time, so memory stays near one page and a small batch of
//! values, never a whole row group. Bounded like archives (a column chunk
//! whose metadata says it decodes past the budget is not started; a page's
//! own header is the parquet crate's to check, up to 2 GiB): a cell larger
//! than the member limit is left out (and noted); the cells of a file add
//! up to at most what the shared budget allows, then reading stops with a
//! note. Pure: no I/O, nothing written; a corrupt file is a problem naming
//! the row group or record batch, never a panic.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::basic::Type as PhysicalType;
use std::sync::Arc;

use parquet::column::reader::{ColumnReader, ColumnReaderImpl, get_column_reader};
use parquet::data_type::{AsBytes, DataType as ParquetType};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use super::archive::Limits;

/// What kind of table a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Parquet,
    ArrowFile,
    ArrowStream,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Parquet => "Parquet file",
            Table::ArrowFile => "Arrow IPC file",
            Table::ArrowStream => "Arrow IPC stream",
        }
    }
}

/// The IPC stream's continuation marker, which opens every message of a
/// stream written since Arrow 0.15 (what `datasets.save_to_disk` writes).
const CONTINUATION: [u8; 4] = [0xff; 4];

/// The table `content` is, from its first bytes.
pub fn kind(content: &[u8]) -> Option<Table> {
    if content.starts_with(b"PAR1") {
        Some(Table::Parquet)
    } else if content.starts_with(b"ARROW1") {
        Some(Table::ArrowFile)
    } else if content.len() >= 8 && content[..4] == CONTINUATION {
        // A schema message follows: its length is small and inside the file.
        let len = u32::from_le_bytes([content[4], content[5], content[6], content[7]]) as usize;
        (len > 0 && len <= content.len() - 8).then_some(Table::ArrowStream)
    } else {
        None
    }
}

/// One cell: the row (0-based in the file), the leaf column, the value.
pub struct Cell<'a> {
    pub row: u64,
    pub column: &'a str,
    pub value: &'a [u8],
}

/// What reading a table met: problems (a corrupt row group, a bound
/// reached) and cells left out for size, named `row R, column C`.
#[derive(Debug, Default)]
pub struct Read {
    pub problems: Vec<String>,
    pub skipped: Vec<(String, u64)>,
    /// Whether the content was a table at all (an Arrow stream's first
    /// bytes can be a coincidence: then it is scanned as bytes).
    pub opened: bool,
}

/// Reads every text cell of `content` (a `table`) into `each`. `left` is
/// what may still be decoded (shared with archives around it); what this
/// table decodes is taken from it.
pub fn read(
    table: Table,
    content: &[u8],
    limits: &Limits,
    left: &mut u64,
    each: &mut dyn FnMut(Cell),
) -> Read {
    let mut cells = Cells {
        limits: *limits,
        left: *left,
        read: Read::default(),
        stopped: false,
        each,
    };
    let outcome = quietly(|| match table {
        Table::Parquet => parquet_cells(content, &mut cells),
        Table::ArrowFile | Table::ArrowStream => arrow_cells(table, content, &mut cells),
    });
    if outcome.is_err() {
        cells.read.opened = true;
        cells.read.problems.push(format!(
            "truncated or corrupt {}: its reader stopped on an inconsistency",
            table.name()
        ));
    }
    *left = cells.left;
    cells.read
}

thread_local! {
    /// Set while a reader runs on this thread: its panic is caught and
    /// reported as a problem, so the panic hook stays silent.
    static READING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `read` with its panics caught (the Arrow readers assert on some
/// corrupt buffers) and kept off stderr; `Err` when it panicked.
fn quietly(read: impl FnOnce()) -> Result<(), ()> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !READING.with(|r| r.get()) {
                previous(info);
            }
        }));
    });
    READING.with(|r| r.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    READING.with(|r| r.set(false));
    outcome.map_err(|_| ())
}

/// The cells read so far and the bounds on them.
struct Cells<'e> {
    limits: Limits,
    left: u64,
    read: Read,
    /// The total bound was reached: no further cell is read.
    stopped: bool,
    each: &'e mut dyn FnMut(Cell),
}

impl Cells<'_> {
    /// Hands one cell on, within the bounds; `false` once reading must stop.
    fn cell(&mut self, row: u64, column: &str, value: &[u8]) -> bool {
        if self.stopped {
            return false;
        }
        let len = value.len() as u64;
        if len > self.limits.member {
            self.read
                .skipped
                .push((format!("row {row}, column {column}"), len));
            return true;
        }
        if len > self.left {
            self.stopped = true;
            self.read.problems.push(format!(
                "stopped reading at row {row}: its text cells add up to more than {} bytes \
                 (--max-archive-size)",
                self.limits.total
            ));
            return false;
        }
        self.left -= len;
        (self.each)(Cell { row, column, value });
        true
    }
}

fn parquet_cells(content: &[u8], cells: &mut Cells) {
    cells.read.opened = true;
    let meta = match ParquetMetaDataReader::new().parse_and_finish(&Whole(content)) {
        Ok(meta) => meta,
        Err(e) => {
            cells
                .read
                .problems
                .push(format!("truncated or corrupt Parquet file: {e}"));
            return;
        }
    };
    let schema = meta.file_metadata().schema_descr_ptr();
    let mut first_row = 0u64;
    for g in 0..meta.num_row_groups() {
        let group = meta.row_group(g);
        if group.num_columns() != schema.num_columns() {
            cells.read.problems.push(format!(
                "row group {g}: truncated or corrupt: {} columns, the schema has {}",
                group.num_columns(),
                schema.num_columns()
            ));
            return;
        }
        let rows = group.num_rows().max(0) as u64;
        for c in 0..schema.num_columns() {
            let column = schema.column(c);
            if !matches!(
                column.physical_type(),
                PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY
            ) {
                continue;
            }
            let name = column.path().string();
            let corrupt = |e: &dyn std::fmt::Display| {
                format!("row group {g}, column {name}: truncated or corrupt: {e}")
            };
            let chunk = group.column(c);
            let decoded = chunk.uncompressed_size().max(0) as u64;
            // Pages are decompressed whole: a column chunk that says it
            // decodes to more than the budget left is not started.
            if decoded > cells.left {
                cells.read.problems.push(format!(
                    "stopped reading at row group {g} (row {first_row}): column {name} decodes to \
                     {decoded} bytes, more than is left of --max-archive-size ({} bytes)",
                    cells.limits.total
                ));
                return;
            }
            // Only this column chunk's bytes are copied out for its reader,
            // never the whole file.
            let Some(bytes) = chunk_bytes(content, chunk) else {
                let e = "the column chunk lies outside the file";
                cells.read.problems.push(corrupt(&e));
                return;
            };
            let pages = SerializedPageReader::new(Arc::new(bytes), chunk, rows as usize, None);
            let reader = match pages {
                Ok(pages) => get_column_reader(column.clone(), Box::new(pages)),
                Err(e) => {
                    cells.read.problems.push(corrupt(&e));
                    return;
                }
            };
            let leaf = Leaf {
                name: &name,
                first_row,
                max_def: column.max_def_level(),
                max_rep: column.max_rep_level(),
                batch: batch_for(decoded / chunk.num_values().max(1) as u64),
            };
            let done = match reader {
                ColumnReader::ByteArrayColumnReader(r) => leaf.read(r, cells),
                ColumnReader::FixedLenByteArrayColumnReader(r) => leaf.read(r, cells),
                _ => Ok(true),
            };
            match done {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    cells.read.problems.push(corrupt(&e));
                    return;
                }
            }
        }
        first_row += rows;
    }
}

/// A column chunk's bytes (its dictionary page, if any, and its data
/// pages), copied from the file; `None` when the metadata places it
/// outside.
fn chunk_bytes(content: &[u8], chunk: &ColumnChunkMetaData) -> Option<ChunkBytes> {
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    let start = usize::try_from(start).ok()?;
    let len = usize::try_from(chunk.compressed_size()).ok()?;
    let bytes = content.get(start..start.checked_add(len)?)?;
    Some(ChunkBytes {
        offset: start as u64,
        bytes: bytes::Bytes::copy_from_slice(bytes),
    })
}

/// The whole file, borrowed: what the footer is read from.
struct Whole<'a>(&'a [u8]);

fn out_of_file(start: u64, length: usize) -> ParquetError {
    ParquetError::EOF(format!(
        "{length} bytes at offset {start} are past the end of the file"
    ))
}

impl Length for Whole<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

impl<'a> ChunkReader for Whole<'a> {
    type T = &'a [u8];

    fn get_read(&self, start: u64) -> parquet::errors::Result<&'a [u8]> {
        let data: &'a [u8] = self.0;
        usize::try_from(start)
            .ok()
            .and_then(|s| data.get(s..))
            .ok_or_else(|| out_of_file(start, 0))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        usize::try_from(start)
            .ok()
            .and_then(|s| self.0.get(s..s.checked_add(length)?))
            .map(bytes::Bytes::copy_from_slice)
            .ok_or_else(|| out_of_file(start, length))
    }
}

/// One column chunk's bytes, at their offset in the file.
struct ChunkBytes {
    offset: u64,
    bytes: bytes::Bytes,
}

impl ChunkBytes {
    fn slice(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        start
            .checked_sub(self.offset)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s.checked_add(length).is_some_and(|e| e <= self.bytes.len()))
            .map(|s| self.bytes.slice(s..s + length))
            .ok_or_else(|| out_of_file(start, length))
    }
}

impl Length for ChunkBytes {
    fn len(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }
}

impl ChunkReader for ChunkBytes {
    type T = bytes::buf::Reader<bytes::Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest = (self.len().saturating_sub(start)) as usize;
        use bytes::Buf;
        Ok(self.slice(start, rest)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.slice(start, length)
    }
}

/// Values decoded at once: enough to keep the reader's overhead low, few
/// enough that a batch of large cells stays near 16 MiB.
fn batch_for(average_value: u64) -> usize {
    const BATCH_BYTES: u64 = 16 << 20;
    (BATCH_BYTES / average_value.max(1)).clamp(1, 4096) as usize
}

/// One leaf column of one row group, and how its levels map to rows.
struct Leaf<'a> {
    name: &'a str,
    first_row: u64,
    max_def: i16,
    max_rep: i16,
    batch: usize,
}

impl Leaf<'_> {
    /// Reads the column's values a batch at a time; `Ok(false)` once the
    /// bounds stop the file.
    fn read<T: ParquetType>(
        &self,
        mut reader: ColumnReaderImpl<T>,
        cells: &mut Cells,
    ) -> parquet::errors::Result<bool>
    where
        T::T: AsBytes,
    {
        let mut defs = Vec::new();
        let mut reps = Vec::new();
        let mut values = Vec::new();
        // The row of the next level: with repetition levels, a level of 0
        // starts a row, so counting starts one before the first.
        let mut next_row = self.first_row;
        loop {
            defs.clear();
            reps.clear();
            values.clear();
            let (records, _, levels) =
                reader.read_records(self.batch, Some(&mut defs), Some(&mut reps), &mut values)?;
            if records == 0 && levels == 0 && values.is_empty() {
                return Ok(true);
            }
            if self.max_def == 0 && self.max_rep == 0 {
                for v in &values {
                    if !cells.cell(next_row, self.name, v.as_bytes()) {
                        return Ok(false);
                    }
                    next_row += 1;
                }
                continue;
            }
            let mut value = values.iter();
            for i in 0..levels.min(defs.len().max(reps.len())) {
                let starts_row = self.max_rep == 0 || reps.get(i) == Some(&0);
                if starts_row {
                    next_row += 1;
                }
                let present = self.max_def == 0 || defs.get(i) == Some(&self.max_def);
                if present {
                    let Some(v) = value.next() else { break };
                    if !cells.cell(next_row - 1, self.name, v.as_bytes()) {
                        return Ok(false);
                    }
                }
            }
        }
    }
}

fn arrow_cells(table: Table, content: &[u8], cells: &mut Cells) {
    // The readers allocate what a block or message header says before
    // reading it: headers that point past the file are refused first.
    let mut content = content;
    let mut cut = None;
    match table {
        Table::ArrowFile => {
            if let Err(e) = file_blocks_fit(content) {
                cells.read.opened = true;
                cells
                    .read
                    .problems
                    .push(format!("truncated or corrupt Arrow IPC file: {e}"));
                return;
            }
        }
        _ => {
            let (whole, problem) = stream_messages_fit(content);
            content = &content[..whole];
            cut = problem;
        }
    }
    let batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>> =
        match table {
            Table::ArrowFile => {
                match arrow_ipc::reader::FileReader::try_new(Cursor::new(content), None) {
                    Ok(r) => Box::new(r),
                    Err(e) => {
                        cells.read.opened = true;
                        cells
                            .read
                            .problems
                            .push(format!("truncated or corrupt Arrow IPC file: {e}"));
                        return;
                    }
                }
            }
            _ => match arrow_ipc::reader::StreamReader::try_new(Cursor::new(content), None) {
                Ok(r) => Box::new(r),
                // No schema: not an Arrow stream after all.
                Err(_) => return,
            },
        };
    cells.read.opened = true;
    if let Some(problem) = cut {
        cells
            .read
            .problems
            .push(format!("truncated or corrupt Arrow IPC stream: {problem}"));
    }
    let mut first_row = 0u64;
    for (b, batch) in batches.enumerate() {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                cells.read.problems.push(format!(
                    "record batch {b} (from row {first_row}): truncated or corrupt: {e}"
                ));
                return;
            }
        };
        let schema = batch.schema();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let rows = Rows::From(first_row);
            if !walk(column.as_ref(), field.name(), &rows, cells) {
                return;
            }
        }
        first_row += batch.num_rows() as u64;
    }
}

/// Whether every block an Arrow IPC file's footer lists lies inside it.
fn file_blocks_fit(content: &[u8]) -> Result<(), String> {
    let n = content.len();
    let tail = n
        .checked_sub(10)
        .and_then(|at| content.get(at..))
        .filter(|t| t.ends_with(b"ARROW1"))
        .ok_or("no footer (truncated?)")?;
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let footer = usize::try_from(footer_len)
        .ok()
        .and_then(|len| content.get((n - 10).checked_sub(len)?..n - 10))
        .ok_or("the footer's length points outside the file")?;
    let footer = arrow_ipc::root_as_footer(footer).map_err(|e| format!("footer: {e}"))?;
    let blocks = [footer.dictionaries(), footer.recordBatches()];
    for (i, b) in blocks.into_iter().flatten().flatten().enumerate() {
        let end =
            i128::from(b.offset()) + i128::from(b.metaDataLength()) + i128::from(b.bodyLength());
        if b.offset() < 0 || b.metaDataLength() < 0 || b.bodyLength() < 0 || end > n as i128 {
            return Err(format!("block {i} lies outside the file"));
        }
    }
    Ok(())
}

/// How many bytes of an Arrow IPC stream are whole messages (each body
/// inside the file), and what was wrong after them, if anything.
fn stream_messages_fit(content: &[u8]) -> (usize, Option<String>) {
    let word = |at: usize| {
        content
            .get(at..at.checked_add(4)?)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut at = 0usize;
    loop {
        let start = at;
        let Some(mut len) = word(at) else {
            return (start, None);
        };
        at += 4;
        if len == -1 {
            let Some(l) = word(at) else {
                return (start, Some(format!("cut in the message at byte {start}")));
            };
            len = l;
            at += 4;
        }
        if len == 0 {
            return (at, None);
        }
        let Some(meta) = usize::try_from(len)
            .ok()
            .and_then(|l| content.get(at..at.checked_add(l)?))
        else {
            return (start, Some(format!("cut in the message at byte {start}")));
        };
        let body = match arrow_ipc::root_as_message(meta) {
            Ok(m) => m.bodyLength(),
            Err(e) => return (start, Some(format!("message at byte {start}: {e}"))),
        };
        at += meta.len();
        match usize::try_from(body)
            .ok()
            .filter(|&b| b <= content.len() - at)
        {
            Some(b) => at += b,
            None => {
                return (
                    start,
                    Some(format!(
                        "the message at byte {start} says its body is {body} bytes, past the end of the file"
                    )),
                );
            }
        }
    }
}

/// The file row of each element of an array: the top level's rows are
/// consecutive; a nested array's come from the lists around it.
enum Rows {
    From(u64),
    /// `None`: an element no row holds (under a null, or sliced away).
    Each(Vec<Option<u64>>),
}

impl Rows {
    fn of(&self, i: usize) -> Option<u64> {
        match self {
            Rows::From(first) => Some(first + i as u64),
            Rows::Each(rows) => rows.get(i).copied().flatten(),
        }
    }

    /// The rows of a child whose elements `offsets[i]..offsets[i + 1]`
    /// belong to element `i`.
    fn spread(&self, parent: &dyn Array, offsets: &[usize], child_len: usize) -> Rows {
        let mut rows = vec![None; child_len];
        for i in 0..offsets.len().saturating_sub(1) {
            if parent.is_null(i) {
                continue;
            }
            let row = self.of(i);
            let end = offsets[i + 1].min(child_len);
            for slot in rows.iter_mut().take(end).skip(offsets[i]) {
                *slot = row;
            }
        }
        Rows::Each(rows)
    }
}

/// The bytes of a string or binary array's elements.
enum Bytes<'a> {
    Str(&'a arrow_array::StringArray),
    LargeStr(&'a arrow_array::LargeStringArray),
    StrView(&'a arrow_array::StringViewArray),
    Bin(&'a arrow_array::BinaryArray),
    LargeBin(&'a arrow_array::LargeBinaryArray),
    BinView(&'a arrow_array::BinaryViewArray),
    Fixed(&'a arrow_array::FixedSizeBinaryArray),
}

impl<'a> Bytes<'a> {
    fn of(array: &'a dyn Array) -> Option<Bytes<'a>> {
        Some(match array.data_type() {
            DataType::Utf8 => Bytes::Str(array.as_string_opt::<i32>()?),
            DataType::LargeUtf8 => Bytes::LargeStr(array.as_string_opt::<i64>()?),
            DataType::Utf8View => Bytes::StrView(array.as_string_view_opt()?),
            DataType::Binary => Bytes::Bin(array.as_binary_opt::<i32>()?),
            DataType::LargeBinary => Bytes::LargeBin(array.as_binary_opt::<i64>()?),
            DataType::BinaryView => Bytes::BinView(array.as_binary_view_opt()?),
            DataType::FixedSizeBinary(_) => Bytes::Fixed(array.as_fixed_size_binary_opt()?),
            _ => return None,
        })
    }

    fn value(&self, i: usize) -> &'a [u8] {
        match self {
            Bytes::Str(a) => a.value(i).as_bytes(),
            Bytes::LargeStr(a) => a.value(i).as_bytes(),
            Bytes::StrView(a) => a.value(i).as_bytes(),
            Bytes::Bin(a) => a.value(i),
            Bytes::LargeBin(a) => a.value(i),
            Bytes::BinView(a) => a.value(i),
            Bytes::Fixed(a) => a.value(i),
        }
    }
}

/// Hands on every text cell under `array` (named `name`), at its row;
/// `false` once the bounds stop the file.
fn walk(array: &dyn Array, name: &str, rows: &Rows, cells: &mut Cells) -> bool {
    if let Some(bytes) = Bytes::of(array) {
        for i in 0..array.len() {
            if array.is_null(i) {
                continue;
            }
            if let Some(row) = rows.of(i) {
                if !cells.cell(row, name, bytes.value(i)) {
                    return false;
                }
            }
        }
        return true;
    }
    match array.data_type() {
        DataType::List(field) => {
            let Some(list) = array.as_list_opt::<i32>() else {
                return true;
            };
            let offsets: Vec<usize> = list.value_offsets().iter().map(|&o| o as usize).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::LargeList(field) => {
            let Some(list) = array.as_list_opt::<i64>() else {
                return true;
            };
            let offsets: Vec<usize> = list.value_offsets().iter().map(|&o| o as usize).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::FixedSizeList(field, size) => {
            let Some(list) = array.as_fixed_size_list_opt() else {
                return true;
            };
            let size = (*size).max(0) as usize;
            let offsets: Vec<usize> = (0..=array.len()).map(|i| i * size).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::Map(field, _) => {
            let Some(map) = array.as_map_opt() else {
                return true;
            };
            let offsets: Vec<usize> = map.value_offsets().iter().map(|&o| o as usize).collect();
            let entries = map.entries();
            let child = rows.spread(array, &offsets, entries.len());
            walk(entries, &format!("{name}.{}", field.name()), &child, cells)
        }
        DataType::Struct(fields) => {
            let Some(st) = array.as_struct_opt() else {
                return true;
            };
            let masked;
            let rows = if st.null_count() > 0 {
                masked = Rows::Each(
                    (0..array.len())
                        .map(|i| rows.of(i).filter(|_| !array.is_null(i)))
                        .collect(),
                );
                &masked
            } else {
                rows
            };
            fields.iter().zip(st.columns()).all(|(field, column)| {
                walk(
                    column.as_ref(),
                    &format!("{name}.{}", field.name()),
                    rows,
                    cells,
                )
            })
        }
        DataType::Dictionary(_, _) => {
            let Some(dict) = array.as_any_dictionary_opt() else {
                return true;
            };
            let Some(values) = Bytes::of(dict.values().as_ref()) else {
                return true;
            };
            let len = dict.values().len();
            for (i, k) in dict.normalized_keys().into_iter().enumerate() {
                if array.is_null(i) || k >= len || dict.values().is_null(k) {
                    continue;
                }
                if let Some(row) = rows.of(i) {
                    if !cells.cell(row, name, values.value(k)) {
                        return false;
                    }
                }
            }
            true
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, ListArray, StringArray, StructArray};
    use arrow_schema::{Field, Fields, Schema};

    fn limits() -> Limits {
        Limits {
            member: 50 << 20,
            total: 256 << 20,
            ratio: 100,
        }
    }

    fn cells_of(content: &[u8]) -> (Vec<(u64, String, String)>, Read) {
        let mut got = Vec::new();
        let table = kind(content).expect("a table");
        let read = read(table, content, &limits(), &mut (256 << 20), &mut |c| {
            got.push((
                c.row,
                c.column.to_string(),
                String::from_utf8_lossy(c.value).into_owned(),
            ))
        });
        (got, read)
    }

    /// Whatever reading gives, for input that may be no table at all.
    fn cells_of_any(content: &[u8]) -> Option<Read> {
        let table = kind(content)?;
        Some(read(table, content, &limits(), &mut (1 << 20), &mut |_| {}))
    }

    fn chat_batch() -> RecordBatch {
        let content = StringArray::from(vec![Some("hi"), Some("there"), None, Some("bye")]);
        let role = StringArray::from(vec!["user", "assistant", "user", "user"]);
        let msg_fields = Fields::from(vec![
            Field::new("role", DataType::Utf8, false),
            Field::new("content", DataType::Utf8, true),
        ]);
        let structs = StructArray::new(
            msg_fields.clone(),
            vec![Arc::new(role) as ArrayRef, Arc::new(content)],
            None,
        );
        let item = Arc::new(Field::new("item", DataType::Struct(msg_fields), true));
        let offsets = arrow_buffer::OffsetBuffer::new(vec![0, 2, 2, 4].into());
        let list = ListArray::new(item.clone(), offsets, Arc::new(structs), None);
        let score = Float64Array::from(vec![1.0, 2.0, 3.0]);
        let schema = Schema::new(vec![
            Field::new("messages", DataType::List(item), true),
            Field::new("score", DataType::Float64, false),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(list), Arc::new(score)]).unwrap()
    }

    #[test]
    fn an_arrow_stream_gives_nested_cells_at_their_rows() {
        let batch = chat_batch();
        let mut out = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        assert_eq!(kind(&out), Some(Table::ArrowStream));
        let (got, read) = cells_of(&out);
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        let at: Vec<(u64, &str, &str)> = got
            .iter()
            .map(|(r, c, v)| (*r, c.as_str(), v.as_str()))
            .filter(|(_, c, _)| c.ends_with("content"))
            .collect();
        assert_eq!(
            at,
            [
                (0, "messages.item.content", "hi"),
                (0, "messages.item.content", "there"),
                (2, "messages.item.content", "bye"),
                (3, "messages.item.content", "hi"),
                (3, "messages.item.content", "there"),
                (5, "messages.item.content", "bye"),
            ]
        );
        // Cut or flipped anywhere: problems, never a crash.
        let mut rng = 5u64;
        for n in (1..out.len()).step_by(3) {
            let _ = cells_of_any(&out[..n]);
        }
        for _ in 0..300 {
            let mut bad = out.clone();
            for _ in 0..3 {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                let at = 8 + (rng >> 33) as usize % (bad.len() - 8);
                bad[at] ^= 1 << (rng % 8);
            }
            let _ = cells_of_any(&bad);
        }
    }

    #[test]
    fn a_truncated_arrow_file_is_a_problem_not_a_panic() {
        let batch = chat_batch();
        let mut out = Vec::new();
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        assert_eq!(kind(&out), Some(Table::ArrowFile));
        assert_eq!(cells_of(&out).0.len(), 7);
        for cut in [8, out.len() / 2, out.len() - 3] {
            let (_, read) = cells_of(&out[..cut]);
            assert!(read.opened);
            assert!(!read.problems.is_empty(), "cut at {cut}");
        }
        let mut rng = 11u64;
        for _ in 0..300 {
            let mut bad = out.clone();
            for _ in 0..3 {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                let at = 8 + (rng >> 33) as usize % (bad.len() - 16);
                bad[at] ^= 1 << (rng % 8);
            }
            // The Arrow reader asserts on some corrupt buffers: caught.
            let read = read(
                Table::ArrowFile,
                &bad,
                &limits(),
                &mut (1 << 20),
                &mut |_| {},
            );
            assert!(read.opened);
        }
    }

    fn small_parquet() -> Vec<u8> {
        use parquet::data_type::{ByteArray, ByteArrayType};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        let schema = "message m { required binary text (UTF8); optional binary note (UTF8); }";
        let schema = Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
        let props = WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_data_page_row_count_limit(8)
            .set_write_batch_size(8)
            .build();
        let mut w = SerializedFileWriter::new(Vec::new(), schema, Arc::new(props)).unwrap();
        for g in 0..2 {
            let mut group = w.next_row_group().unwrap();
            let text: Vec<ByteArray> = (0..40)
                .map(|i| ByteArray::from(format!("row {g}-{i} says hello").as_str()))
                .collect();
            let mut col = group.next_column().unwrap().unwrap();
            col.typed::<ByteArrayType>()
                .write_batch(&text, None, None)
                .unwrap();
            col.close().unwrap();
            let notes: Vec<ByteArray> = (0..20)
                .map(|i| ByteArray::from(format!("n{i}").as_str()))
                .collect();
            let defs: Vec<i16> = (0..40).map(|i| (i % 2) as i16).collect();
            let mut col = group.next_column().unwrap().unwrap();
            col.typed::<ByteArrayType>()
                .write_batch(&notes, Some(&defs), None)
                .unwrap();
            col.close().unwrap();
            group.close().unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn parquet_rows_count_across_row_groups_and_skip_nulls() {
        let file = small_parquet();
        let (got, read) = cells_of(&file);
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!(got.len(), 120);
        assert!(got.contains(&(79, "text".to_string(), "row 1-39 says hello".to_string())));
        assert!(got.contains(&(41, "note".to_string(), "n0".to_string())));
        assert!(got.contains(&(79, "note".to_string(), "n19".to_string())));
    }

    #[test]
    fn cut_or_flipped_parquet_is_a_problem_and_never_a_panic() {
        let file = small_parquet();
        let mut rng = 27u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as usize
        };
        let mut inputs: Vec<Vec<u8>> = (4..file.len())
            .step_by(5)
            .map(|n| file[..n].to_vec())
            .collect();
        for _ in 0..300 {
            let mut bad = file.clone();
            for _ in 0..3 {
                let at = 4 + next() % (bad.len() - 8);
                bad[at] ^= 1 << (next() % 8);
            }
            inputs.push(bad);
        }
        for input in inputs {
            let Some(t) = kind(&input) else { continue };
            let read = read(t, &input, &limits(), &mut (1 << 20), &mut |_| {});
            assert!(
                !read
                    .problems
                    .iter()
                    .any(|p| p.contains("its reader stopped")),
                "{:?}",
                read.problems
            );
        }
    }

    #[test]
    fn arbitrary_bytes_after_a_magic_do_not_panic() {
        let mut rng = 7u64;
        for len in [0usize, 4, 9, 64, 500] {
            for magic in [
                &b"PAR1"[..],
                b"ARROW1\0\0",
                &[0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0],
            ] {
                let mut data = magic.to_vec();
                for _ in 0..len {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    data.push((rng >> 33) as u8);
                }
                if let Some(t) = kind(&data) {
                    let _ = read(t, &data, &limits(), &mut (1 << 20), &mut |_| {});
                }
            }
        }
    }
}
