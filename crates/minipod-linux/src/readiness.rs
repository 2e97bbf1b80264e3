
#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_pipe_with_data_is_ready_and_reads_once_without_blocking() {
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        let (idle, _idle_writer) = std::io::pipe().expect("a pipe");
        writer.write_all(b"hello").expect("write");
        let ready = wait(&[
            (idle.as_fd(), Interest::Readable),
            (reader.as_fd(), Interest::Readable),
        ])
        .expect("poll");
        assert_eq!(ready, [false, true]);
        let mut buf = [0u8; 64];
        let n = read(reader.as_fd(), &mut buf).expect("read");
        assert_eq!(&buf[..n], b"hello");
    }

    #[test]
    fn a_closed_writer_is_an_event_and_end_of_file() {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(writer);
        assert_eq!(wait(&[(reader.as_fd(), Interest::Readable)]).expect("poll"), [true]);
        assert_eq!(read(reader.as_fd(), &mut [0u8; 8]).expect("read"), 0);
    }
}
